/**
 * @module
 * `REGISTRY_*` environment overrides in distribution's naming: the rest of the variable
 * name, split on `_` and lowercased, is the path of the setting
 * (`REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY` sets `storage.filesystem.rootdirectory`).
 * A variable naming a driver section (`REGISTRY_STORAGE=s3`) selects that driver.
 */

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** Sections whose value names one of their children (distribution's driver selection). */
const SELECTORS: Record<string, string[]> = {
  storage: ["filesystem", "inmemory", "s3"],
};

/** Applies the `REGISTRY_*` variables of `env` to `doc` (mutated and returned). */
export function applyEnv(doc: Doc, env: Record<string, string | undefined>): Doc {
  const vars = Object.entries(env)
    .filter(([k, v]) =>
      k.startsWith("REGISTRY_") && k !== "REGISTRY_CONFIGURATION_PATH" && v !== undefined
    );
  const selected: [string, string][] = [];
  for (const [name, value] of vars) {
    const path = name.slice("REGISTRY_".length).toLowerCase().split("_").filter(Boolean);
    if (path.length === 0) continue;
    if (path.length === 1 && SELECTORS[path[0]]) {
      selected.push([path[0], value!]);
      continue;
    }
    let at = doc;
    for (const part of path.slice(0, -1)) {
      if (!isObject(at[part])) at[part] = {};
      at = at[part] as Doc;
    }
    at[path[path.length - 1]] = value;
  }
  // A selector (REGISTRY_STORAGE=s3) wins over every other driver section, whether it
  // came from the file or from other variables.
  for (const [section, choice] of selected) {
    const node = isObject(doc[section]) ? doc[section] as Doc : {};
    for (const other of SELECTORS[section]) if (other !== choice) delete node[other];
    if (!isObject(node[choice])) node[choice] = {};
    doc[section] = node;
  }
  return doc;
}
