/**
 * @module
 * The small-record seam: a transactional key-value store with Deno KV semantics.
 * Keys are arrays of strings; values are JSON-compatible and at most 64 KiB; a commit
 * applies all its mutations only if every check still holds (optimistic concurrency).
 * Every implementation runs `tests/drivers/metadata_store_suite.ts`.
 */

/** A key: an array of string parts, compared part by part in lexical (UTF-8) order. */
export type MetaKey = readonly string[];

/** One stored record with the version it was read at. */
export interface Versioned<T> {
  key: MetaKey;
  value: T;
  /** Opaque version; changes on every write of the key. */
  version: string;
}

/** A condition of a commit: `version` null means "the key must not exist". */
export interface Check {
  key: MetaKey;
  version: string | null;
}

/** A change applied by a commit. `expireInMs` lets the store drop the record later. */
export type Mutation =
  | { type: "set"; key: MetaKey; value: unknown; expireInMs?: number }
  | { type: "delete"; key: MetaKey };

/** Options of a prefix listing. */
export interface ListOptions {
  /** Only keys strictly after this full key (exclusive cursor). */
  after?: MetaKey;
  /** At most this many records. */
  limit?: number;
}

/** Limits every store enforces, so code tested on memory also fits Deno KV. */
export const METADATA_LIMITS = {
  valueBytes: 65_536,
  keyBytes: 2_048,
  checksPerCommit: 100,
  mutationsPerCommit: 1_000,
} as const;

/** Small records with atomic conditional commits (Deno KV semantics). */
export interface MetadataStore {
  /** Store name for logs and `/healthz` (`memory`, `kv`, `postgres`). */
  readonly name: string;
  /** The record at `key`, or null. */
  get<T>(key: MetaKey): Promise<Versioned<T> | null>;
  /** Records at several keys, in the order asked (null where absent). At most 10 keys. */
  getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]>;
  /** Records whose key starts with `prefix` (a strict prefix), in key order. */
  list<T>(prefix: MetaKey, options?: ListOptions): AsyncIterable<Versioned<T>>;
  /**
   * Applies `mutations` atomically if every check holds. Returns the new version, or
   * null when a check failed (nothing was applied). Throws on limits (see
   * {@linkcode METADATA_LIMITS}).
   */
  commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null>;
  /**
   * Deletes expired records, where the store leaves that to a periodic job (PostgreSQL);
   * returns how many. Stores that expire records by themselves do not have it.
   */
  sweepExpired?(): Promise<number>;
  /** Throws when the store is not usable; used by `/healthz`. */
  health(): Promise<void>;
  /** Closes the store. */
  close(): Promise<void>;
}
