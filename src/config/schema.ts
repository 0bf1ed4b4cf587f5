/**
 * @module
 * Which keys each mapping of the configuration may hold: the sections' key sets joined
 * under a top level that knows every section, plus the top-level sections of
 * distribution's format that Berth accepts without implementing (reported, not errors).
 * A key no one knows is an error, so a typo such as `storage.delete.enabeld` cannot pass
 * silently.
 */
import type { Reader } from "./reader.ts";
import { type KeySet, type Schema, type Section, words } from "./section.ts";

/** Top-level sections of distribution's format that Berth accepts without implementing. */
const IGNORED_SECTIONS = words(
  "loglevel reporting redis validation middleware catalog",
);

/**
 * The schema of a document made of `sections`. Throws (a programming error, not a
 * configuration one) when a section describes a path outside itself, two sections claim
 * one path, or a section implements a key still listed as ignored.
 */
export function composeSchema(sections: readonly Section[]): Schema {
  const keys = sections.map((s) => s.key);
  for (const key of keys) {
    if (IGNORED_SECTIONS.includes(key)) {
      throw new Error(`Section "${key}" is implemented: remove it from IGNORED_SECTIONS`);
    }
  }
  const schema: Record<string, KeySet> = {
    // `version` (always 0.1) names the file format; it is no setting to report.
    "": { keys: ["version", ...keys], ignore: IGNORED_SECTIONS },
  };
  for (const section of sections) {
    for (const [path, set] of Object.entries(section.schema)) {
      if (path !== section.key && !path.startsWith(`${section.key}.`)) {
        throw new Error(`Section "${section.key}" describes "${path}", which is outside it`);
      }
      if (Object.hasOwn(schema, path)) throw new Error(`"${path}" is described twice`);
      schema[path] = set;
    }
  }
  return schema;
}

/** The top-level keys of `schema`, known or ignored, for the environment to address. */
export function topLevelKeys(schema: Schema): string[] {
  return [...schema[""].keys, ...schema[""].ignore ?? []];
}

/**
 * Throws on keys no one knows and on keys Berth refuses; returns the dotted paths of the
 * keys it ignores, in document order.
 */
export function checkKeys(schema: Schema, r: Reader, path = ""): string[] {
  const set = schema[path];
  const ignored: string[] = [];
  for (const key of r.keys(path) ?? []) {
    const child = path ? `${path}.${key}` : key;
    if (set.ignore?.includes(key)) {
      ignored.push(child);
    } else if (set.refuse && Object.hasOwn(set.refuse, key)) {
      r.fail(child, set.refuse[key]);
    } else if (!set.keys.includes(key)) {
      r.fail(child, "is not a known setting");
    } else if (Object.hasOwn(schema, child)) {
      ignored.push(...checkKeys(schema, r, child));
    }
  }
  return ignored;
}
