/**
 * @module
 * An in-process {@linkcode MetadataStore} with Deno KV's semantics and limits, for tests
 * and single-process throwaway registries. Nothing survives the process.
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
import { checkCommitLimits } from "./limits.ts";

interface Entry {
  key: MetaKey;
  value: unknown;
  version: string;
  expiresAt: number | null;
}

/** Compares keys part by part, a shorter key first when it is a prefix of the other. */
export function compareKeys(a: MetaKey, b: MetaKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

const encodeKey = (key: MetaKey) => JSON.stringify(key);

/** Metadata in a sorted in-memory map. */
export class MemoryMetadataStore implements MetadataStore {
  readonly name = "memory";
  readonly #entries = new Map<string, Entry>();
  #sorted: Entry[] | null = null;
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

  get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    const e = this.#live(encodeKey(key));
    return Promise.resolve(
      e ? { key: e.key, value: structuredClone(e.value) as T, version: e.version } : null,
    );
  }

  async getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    if (keys.length > 10) throw new TypeError(`getMany takes at most 10 keys, got ${keys.length}`);
    return await Promise.all(keys.map((k) => this.get<T>(k)));
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    this.#sorted ??= [...this.#entries.values()].sort((a, b) => compareKeys(a.key, b.key));
    const limit = options.limit ?? Infinity;
    let count = 0;
    for (const e of this.#sorted) {
      if (count >= limit) return;
      if (e.key.length <= prefix.length) continue;
      if (prefix.some((p, i) => e.key[i] !== p)) continue;
      if (options.after && compareKeys(e.key, options.after) <= 0) continue;
      if (e.expiresAt !== null && e.expiresAt <= Date.now()) continue;
      count++;
      yield { key: e.key, value: structuredClone(e.value) as T, version: e.version };
    }
  }

  // deno-lint-ignore require-await
  async commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null> {
    checkCommitLimits(checks, mutations);
    for (const c of checks) {
      const e = this.#live(encodeKey(c.key));
      if ((e?.version ?? null) !== c.version) return null;
    }
    const version = String(++this.#counter).padStart(20, "0");
    for (const m of mutations) {
      const id = encodeKey(m.key);
      if (m.type === "delete") {
        this.#entries.delete(id);
      } else {
        this.#entries.set(id, {
          key: [...m.key],
          value: structuredClone(m.value),
          version,
          expiresAt: m.expireInMs === undefined ? null : Date.now() + m.expireInMs,
        });
      }
    }
    this.#sorted = null;
    return version;
  }

  health(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export { METADATA_LIMITS };
