/**
 * @module
 * An in-process {@linkcode MetadataStore} with Deno KV's semantics and limits, for tests
 * and single-process throwaway registries. Nothing survives the process.
 *
 * Unlike Deno KV, which deletes expired records in a sweep about once a minute, this
 * store hides a record the moment it expires.
 */
import {
  type Check,
  type ListOptions,
  METADATA_LIMITS,
  type MetadataStore,
  type MetaKey,
  type Mutation,
  type Versioned,
} from "./types.ts";
import { checkCommitLimits, checkGetMany, checkKey, checkListLimit } from "./limits.ts";

interface Entry {
  key: MetaKey;
  value: unknown;
  version: string;
  expiresAt: number | null;
}

/**
 * Compares two key parts in UTF-8 byte order, which is code point order. JavaScript's
 * `<` compares UTF-16 code units and disagrees for characters beyond U+FFFF.
 */
function compareParts(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    // Only a surrogate (U+D800–U+DFFF) against a code unit above it sorts differently.
    if (x >= 0xd800 && y >= 0xd800) return a.codePointAt(i)! - b.codePointAt(i)!;
    return x - y;
  }
  return a.length - b.length;
}

/** Compares keys part by part, a shorter key first when it is a prefix of the other. */
export function compareKeys(a: MetaKey, b: MetaKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareParts(a[i], b[i]);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return Math.sign(a.length - b.length);
}

const encodeKey = (key: MetaKey) => JSON.stringify(key);

/** Metadata in a map, sorted lazily for listings. */
export class MemoryMetadataStore implements MetadataStore {
  readonly name = "memory";
  readonly #entries = new Map<string, Entry>();
  /** Entries in key order; rebuilt on the first listing after a change. */
  #sorted: Entry[] | null = null;
  /** Versions are this counter, zero-padded so string order is commit order. */
  #counter = 0;

  #live(id: string): Entry | undefined {
    const e = this.#entries.get(id);
    if (e && e.expiresAt !== null && e.expiresAt <= Date.now()) {
      this.#entries.delete(id);
      this.#sorted = null;
      return undefined;
    }
    return e;
  }

  #read<T>(e: Entry | undefined): Versioned<T> | null {
    return e ? { key: e.key, value: structuredClone(e.value) as T, version: e.version } : null;
  }

  get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    return new Promise((resolve) => {
      checkKey(key);
      resolve(this.#read<T>(this.#live(encodeKey(key))));
    });
  }

  getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    return new Promise((resolve) => {
      checkGetMany(keys);
      resolve(keys.map((k) => this.#read<T>(this.#live(encodeKey(k)))));
    });
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    if (prefix.length > 0) checkKey(prefix);
    if (options.after && options.after.length > 0) checkKey(options.after);
    checkListLimit(options.limit);
    const limit = options.limit ?? Infinity;
    if (limit === 0) return;
    this.#sorted ??= [...this.#entries.values()].sort((a, b) => compareKeys(a.key, b.key));
    // A snapshot: commits made while the caller iterates do not disturb the walk.
    const sorted = this.#sorted;
    let count = 0;
    for (const e of sorted) {
      if (e.key.length <= prefix.length) continue;
      if (prefix.some((p, i) => e.key[i] !== p)) continue;
      if (options.after && compareKeys(e.key, options.after) <= 0) continue;
      if (e.expiresAt !== null && e.expiresAt <= Date.now()) continue;
      yield { key: e.key, value: structuredClone(e.value) as T, version: e.version };
      if (++count >= limit) return;
    }
  }

  commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null> {
    return new Promise((resolve) => {
      checkCommitLimits(checks, mutations);
      for (const c of checks) {
        if ((this.#live(encodeKey(c.key))?.version ?? null) !== c.version) return resolve(null);
      }
      // Values are copied before anything is applied, so a value that cannot be cloned
      // fails the whole commit rather than half of it.
      const now = Date.now();
      const version = String(++this.#counter).padStart(20, "0");
      const changes = mutations.map((m) =>
        m.type === "delete" ? { id: encodeKey(m.key), entry: null } : {
          id: encodeKey(m.key),
          entry: {
            key: Object.freeze([...m.key]),
            value: structuredClone(m.value),
            version,
            expiresAt: m.expireInMs === undefined ? null : now + m.expireInMs,
          },
        }
      );
      for (const { id, entry } of changes) {
        if (entry) this.#entries.set(id, entry);
        else this.#entries.delete(id);
      }
      this.#sorted = null;
      resolve(version);
    });
  }

  health(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export { METADATA_LIMITS };
