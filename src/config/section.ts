/**
 * @module
 * What one top-level section of the configuration (`log:`, `storage:`, `berth:` ...)
 * declares: its key, which keys its mappings may hold, which mechanisms a `REGISTRY_<KEY>`
 * variable chooses between, and how its settings are read into their typed form.
 * `src/config/mod.ts` lists the sections; `schema.ts` joins their key sets.
 */
import type { Reader } from "./reader.ts";

/** Environment variables, as `Deno.env.toObject()` returns them. */
export type Env = Record<string, string | undefined>;

/** The keys one mapping of the configuration may hold. */
export interface KeySet {
  /** Keys Berth reads. */
  readonly keys: readonly string[];
  /** Keys of distribution's format accepted without being implemented: reported, not errors. */
  readonly ignore?: readonly string[];
  /** Keys of distribution's format refused, each with the reason that follows its path. */
  readonly refuse?: Readonly<Record<string, string>>;
}

/**
 * Key sets by dotted path (`storage.s3`). A mapping without one (`http.headers`, `auth`)
 * is free-form: its reader validates it.
 */
export type Schema = Readonly<Record<string, KeySet>>;

/** One top-level section of the configuration. */
export interface Section<K extends string = string, T = unknown> {
  /** The top-level key (`storage`). */
  readonly key: K;
  /** Key sets of this section and its sub-mappings; every path starts with `key`. */
  readonly schema: Schema;
  /**
   * With `REGISTRY_<KEY>=<choice>` (`REGISTRY_STORAGE=s3`): the mechanisms of the section,
   * of which the choice is kept and the others are removed.
   */
  readonly selects?: readonly string[];
  /**
   * Reads and validates the section, after every key of the document was checked
   * against the schema. Refusals go through `r.fail`, which names the setting.
   */
  read(r: Reader, env: Env): T;
}

/** The value a section reads. */
export type SectionValue<S> = S extends Section<string, infer T> ? T : never;

/** The words of a space-separated list, for key sets. */
export const words = (list: string): string[] => list.split(" ");
