/**
 * @module
 * Sections kept as written for the module that implements them: `auth` (validated by
 * `src/auth/config.ts`, which also loads the files it names). Its contents are free-form
 * here; only its being a mapping is checked. A capability that comes to read its section
 * gets a file of its own instead, as `proxy.ts` and `notifications.ts` did.
 */
import { isObject } from "./reader.ts";
import type { Section } from "./section.ts";

/** A section as written: a mapping, or undefined when absent. */
export type RawSection = Record<string, unknown> | undefined;

/** A section that only has to be a mapping; `selects` as in {@linkcode Section}. */
export function rawSection<K extends string>(
  key: K,
  selects?: readonly string[],
): Section<K, RawSection> {
  return {
    key,
    schema: {},
    selects,
    read(r) {
      const value = r.get(key);
      if (value === undefined || isObject(value)) return value;
      return r.fail(key, `must be a mapping, got ${JSON.stringify(value)}`);
    },
  };
}

/**
 * `auth:`. `builtin` is not among the mechanisms `REGISTRY_AUTH` chooses between: it is
 * used together with htpasswd, not instead of it.
 */
export const auth = rawSection("auth", ["htpasswd", "token", "silly"]);
