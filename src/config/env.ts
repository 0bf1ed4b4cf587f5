/**
 * @module
 * `REGISTRY_*` environment overrides in distribution's naming: the rest of the variable's
 * name, split on `_`, is the path of the setting (`REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY`
 * sets `storage.filesystem.rootdirectory`). As in distribution:
 *
 * - a part matches an existing key in any case (`REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS`
 *   replaces `X-Frame-Options`), and names a new key in lower case;
 * - a numeric part indexes a list, or appends to it when it equals the list's length;
 * - a variable naming a selecting section (`REGISTRY_STORAGE=s3`, `REGISTRY_AUTH=htpasswd`)
 *   picks that mechanism and removes the section's other mechanisms. Unlike distribution,
 *   the rest of the section (`storage.delete`, `auth.policy`) and the chosen mechanism's
 *   own settings are kept.
 *
 * Values stay strings; each section converts them where it reads them. Variables whose
 * first part names no section are not settings (Kubernetes injects `REGISTRY_SERVICE_HOST`
 * for a service called `registry`): they are returned, not applied.
 */
import { ConfigError, type Doc, isObject } from "./reader.ts";
import type { Env } from "./section.ts";

/**
 * Variables with the prefix that are not Berth's: the file path itself, and the
 * credentials file podman, skopeo and buildah read (containers-auth.json(5)).
 */
const NOT_SETTINGS = ["REGISTRY_CONFIGURATION_PATH", "REGISTRY_AUTH_FILE"];

/** What {@linkcode applyEnv} did. */
export interface EnvResult {
  /** Dotted path of each value set, to the variable that set it. */
  origins: Map<string, string>;
  /** Variables that name no section of `sections`, left unapplied. */
  skipped: string[];
}

/**
 * Applies the `REGISTRY_*` variables of `env` to `doc`, which is mutated. `sections` are
 * the top-level keys a variable may address; `selectors` gives, for each selecting
 * section, the mechanisms a choice replaces.
 */
export function applyEnv(
  doc: Doc,
  env: Env,
  sections: readonly string[],
  selectors: Readonly<Record<string, readonly string[]>>,
): EnvResult {
  const origins = new Map<string, string>();
  const skipped: string[] = [];
  const selections: [string, string, string][] = [];
  // Sorted like distribution, so the outcome does not depend on the environment's order.
  const names = Object.keys(env).filter((k) =>
    k.startsWith("REGISTRY_") && !NOT_SETTINGS.includes(k) && env[k] !== undefined
  ).sort();
  for (const name of names) {
    const value = env[name]!;
    const parts = name.slice("REGISTRY_".length).split("_");
    if (parts.some((p) => p === "") || !sections.includes(parts[0].toLowerCase())) {
      skipped.push(name);
      continue;
    }
    const section = parts[0].toLowerCase();
    if (parts.length === 1 && selectors[section]) {
      selections.push([section, value, name]);
      continue;
    }
    let at: Doc | unknown[] = doc;
    const path: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const key = keyIn(at, parts[i], [...path, parts[i]].join("."), name);
      path.push(String(key));
      if (i === parts.length - 1) {
        (at as Doc)[key] = value;
      } else {
        const next = (at as Doc)[key];
        if (!isObject(next) && !Array.isArray(next)) (at as Doc)[key] = {};
        at = (at as Doc)[key] as Doc | unknown[];
      }
    }
    origins.set(path.join("."), name);
  }
  // Applied last, so REGISTRY_STORAGE=s3 wins over a filesystem section from the file and
  // keeps REGISTRY_STORAGE_S3_* whatever the order.
  for (const [section, choice, name] of selections) {
    const node = isObject(doc[section]) ? doc[section] as Doc : {};
    for (const other of selectors[section]) if (other !== choice) delete node[other];
    if (!isObject(node[choice])) node[choice] = {};
    doc[section] = node;
    origins.set(`${section}.${choice}`, name);
  }
  return { origins, skipped };
}

/** The key `part` addresses in `at`: an existing key in any case, a list index, or new. */
function keyIn(at: Doc | unknown[], part: string, path: string, name: string): string | number {
  if (Array.isArray(at)) {
    const index = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!(index <= at.length)) {
      throw new ConfigError(path, `must index the list (0 to ${at.length}), got "${part}"`, name);
    }
    return index;
  }
  return Object.keys(at).find((k) => k.toUpperCase() === part.toUpperCase()) ??
    part.toLowerCase();
}
