/**
 * @module
 * {@linkcode MetadataStore} over Deno KV: a local SQLite file (shared by the processes of
 * one host), a KV Connect URL (a self-hosted `denokv` or Deno Deploy's KV), or memory.
 */
import { checkCommitLimits } from "./limits.ts";
import type { Check, ListOptions, MetadataStore, MetaKey, Mutation, Versioned } from "./types.ts";

/** Metadata in Deno KV. */
export class KvMetadataStore implements MetadataStore {
  readonly name = "kv";

  private constructor(private readonly kv: Deno.Kv) {}

  /**
   * Opens a KV file path (its folder is created), a KV Connect URL (`http(s)://`), or an
   * in-memory KV when `location` is undefined or `":memory:"`.
   */
  static async open(location?: string): Promise<KvMetadataStore> {
    if (location && location !== ":memory:" && !/^https?:\/\//.test(location)) {
      const slash = location.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(location.slice(0, slash), { recursive: true });
    }
    return new KvMetadataStore(await Deno.openKv(location === ":memory:" ? undefined : location));
  }

  async get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    const e = await this.kv.get<T>(key as string[]);
    return e.versionstamp === null ? null : { key, value: e.value as T, version: e.versionstamp };
  }

  async getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    if (keys.length === 0) return [];
    if (keys.length > 10) throw new TypeError(`getMany takes at most 10 keys, got ${keys.length}`);
    const entries = await this.kv.getMany<T[]>(keys as string[][]);
    return entries.map((e, i) =>
      e.versionstamp === null
        ? null
        : { key: keys[i], value: e.value as T, version: e.versionstamp }
    );
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    const selector: Deno.KvListSelector = options.after
      ? { prefix: prefix as string[], start: [...options.after, ""] as string[] }
      : { prefix: prefix as string[] };
    // `start` is inclusive; the after-key plus an empty part sorts right after it (and
    // after nothing else), so only keys strictly greater than `after` remain.
    let count = 0;
    const limit = options.limit ?? Infinity;
    for await (
      const e of this.kv.list<T>(selector, {
        limit: Number.isFinite(limit) ? limit + 1 : undefined,
      })
    ) {
      if (options.after && sameKey(e.key, options.after)) continue;
      if (count++ >= limit) return;
      yield { key: e.key as string[], value: e.value, version: e.versionstamp };
    }
  }

  async commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null> {
    checkCommitLimits(checks, mutations);
    const op = this.kv.atomic();
    for (const c of checks) op.check({ key: c.key as string[], versionstamp: c.version });
    for (const m of mutations) {
      if (m.type === "delete") op.delete(m.key as string[]);
      else {op.set(
          m.key as string[],
          m.value,
          m.expireInMs ? { expireIn: m.expireInMs } : undefined,
        );}
    }
    const result = await op.commit();
    return result.ok ? result.versionstamp : null;
  }

  async health(): Promise<void> {
    await this.kv.get(["health"]);
  }

  close(): Promise<void> {
    this.kv.close();
    return Promise.resolve();
  }
}

function sameKey(a: Deno.KvKey, b: MetaKey): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
