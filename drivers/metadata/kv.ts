/**
 * @module
 * {@linkcode MetadataStore} over Deno KV: a local SQLite file (shared by the processes of
 * one host), a KV Connect URL (a self-hosted `denokv` or Deno Deploy's KV), or memory.
 */
import { DriverUnavailableError } from "../errors.ts";
import { checkCommitLimits } from "./limits.ts";
import type { Check, ListOptions, MetadataStore, MetaKey, Mutation, Versioned } from "./types.ts";

/** SQLite's answer when another process holds the write lock. */
function isBusy(err: unknown): boolean {
  return err instanceof Error && /database is (locked|busy)|SQLITE_BUSY/i.test(err.message);
}

/** How long a busy database is waited for before the request fails with 503. */
const BUSY_WAIT_MS = 5_000;

/**
 * Runs `op`, retrying while SQLite reports the database as locked (several processes of
 * one host sharing a KV file take turns writing) or a remote KV is briefly unreachable.
 */
async function patiently<T>(what: string, op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (err) {
      const busy = err instanceof Error &&
        /database is (locked|busy)|SQLITE_BUSY/i.test(err.message);
      if (!busy) throw err;
      if (Date.now() > deadline) {
        throw new DriverUnavailableError(`Deno KV stayed busy during ${what}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50) * (0.5 + Math.random())));
    }
  }
}

/** Metadata in Deno KV. */
export class KvMetadataStore implements MetadataStore {
  readonly name = "kv";

  private constructor(private readonly kv: Deno.Kv) {}

  /**
   * Opens a KV file path (its folder is created), a KV Connect URL (`http(s)://`),
   * `":memory:"` for a throwaway store, or `":default"` for the runtime's own database
   * (on Deno Deploy, the project's KV; locally, Deno's default location).
   */
  static async open(location = ":memory:"): Promise<KvMetadataStore> {
    const special = location === ":memory:" || location === ":default";
    if (!special && !/^https?:\/\//.test(location)) {
      const slash = location.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(location.slice(0, slash), { recursive: true });
    }
    return new KvMetadataStore(await Deno.openKv(location === ":default" ? undefined : location));
  }

  async get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    const e = await patiently("a read", () => this.kv.get<T>(key as string[]));
    return e.versionstamp === null ? null : { key, value: e.value as T, version: e.versionstamp };
  }

  async getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    if (keys.length === 0) return [];
    if (keys.length > 10) throw new TypeError(`getMany takes at most 10 keys, got ${keys.length}`);
    const entries = await patiently("a read", () => this.kv.getMany<T[]>(keys as string[][]));
    return entries.map((e, i) =>
      e.versionstamp === null
        ? null
        : { key: keys[i], value: e.value as T, version: e.versionstamp }
    );
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    const limit = options.limit ?? Infinity;
    let count = 0;
    let after = options.after;
    // A busy database can interrupt a listing part-way; it resumes after the last key given.
    for (let attempt = 0;; attempt++) {
      // `start` is inclusive; the after-key plus an empty part sorts right after it, so
      // only keys strictly greater than `after` are listed.
      const selector: Deno.KvListSelector = after
        ? { prefix: prefix as string[], start: [...after, ""] as string[] }
        : { prefix: prefix as string[] };
      const left = limit - count;
      try {
        for await (
          const e of this.kv.list<T>(selector, { limit: Number.isFinite(left) ? left : undefined })
        ) {
          count++;
          after = e.key as string[];
          yield { key: e.key as string[], value: e.value, version: e.versionstamp };
        }
        return;
      } catch (err) {
        if (!isBusy(err) || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      }
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
    const result = await patiently("a commit", () => op.commit());
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
