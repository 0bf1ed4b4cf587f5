/**
 * @module
 * {@linkcode MetadataStore} over Deno KV: a local SQLite file (shared by the processes of
 * one host), a KV Connect URL (a self-hosted `denokv` or Deno Deploy's KV), or memory.
 *
 * Limits are checked before Deno KV sees a request (see `limits.ts`), so both stores
 * fail with the same messages. Expiry is Deno KV's own: an expired record is deleted
 * by a sweep that runs about once a minute, and stays readable until then.
 */
import { DriverUnavailableError } from "../errors.ts";
import { checkCommitLimits, checkGetMany, checkKey, checkListLimit } from "./limits.ts";
import { compareKeys } from "./memory.ts";
import type { Check, ListOptions, MetadataStore, MetaKey, Mutation, Versioned } from "./types.ts";

/** SQLite's answer when another process holds the write lock. */
function isBusy(err: unknown): boolean {
  return err instanceof Error && /database is (locked|busy)|SQLITE_BUSY/i.test(err.message);
}

/** How long a busy database is waited for before the request fails with 503. */
const BUSY_WAIT_MS = 5_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `op`, retrying while SQLite reports the database as locked: several processes of
 * one host sharing a KV file take turns writing.
 */
async function patiently<T>(what: string, op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_WAIT_MS;
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() > deadline) {
        throw new DriverUnavailableError(`Deno KV stayed busy during ${what}`, { cause: err });
      }
      await pause(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
    }
  }
}

function startsWith(key: MetaKey, prefix: MetaKey): boolean {
  return key.length >= prefix.length && prefix.every((p, i) => key[i] === p);
}

/** Metadata in Deno KV. */
export class KvMetadataStore implements MetadataStore {
  readonly name = "kv";
  readonly #kv: Deno.Kv;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Opens a KV file path (its folder is created), a KV Connect URL (`http(s)://`),
   * `":memory:"` (the default) for a throwaway store, or `":default"` for the runtime's
   * own database (on Deno Deploy, the project's KV; locally, Deno's default location).
   */
  static async open(location = ":memory:"): Promise<KvMetadataStore> {
    const special = location === ":memory:" || location === ":default";
    if (!special && !/^https?:\/\//.test(location)) {
      const slash = Math.max(location.lastIndexOf("/"), location.lastIndexOf("\\"));
      if (slash > 0) await Deno.mkdir(location.slice(0, slash), { recursive: true });
    }
    return new KvMetadataStore(await Deno.openKv(location === ":default" ? undefined : location));
  }

  async get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    checkKey(key);
    const e = await patiently("a read", () => this.#kv.get<T>(key as string[]));
    return e.versionstamp === null ? null : { key, value: e.value, version: e.versionstamp };
  }

  async getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    checkGetMany(keys);
    if (keys.length === 0) return [];
    const entries = await patiently("a read", () => this.#kv.getMany<T[]>(keys as string[][]));
    return entries.map((e, i) =>
      e.versionstamp === null
        ? null
        : { key: keys[i], value: e.value as T, version: e.versionstamp }
    );
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    if (prefix.length > 0) checkKey(prefix);
    checkListLimit(options.limit);
    let after = options.after;
    if (after && after.length > 0) checkKey(after);
    // Deno KV refuses a start key outside the prefix: a cursor before every key under the
    // prefix (or the prefix itself) means "from the first", one after them "none".
    if (after && !startsWith(after, prefix)) {
      if (compareKeys(after, prefix) > 0) return;
      after = undefined;
    } else if (after?.length === prefix.length) after = undefined;
    const limit = options.limit ?? Infinity;
    let count = 0;
    // A busy database can interrupt a listing part-way; it resumes after the last key.
    for (let attempt = 0; count < limit; attempt++) {
      // `start` is inclusive, so the cursor itself is skipped below. Starting at the
      // cursor rather than just past it (`[...after, ""]`) keeps a cursor of the largest
      // size a key may have usable as a start key.
      const selector: Deno.KvListSelector = after
        ? { prefix: prefix as string[], start: after as string[] }
        : { prefix: prefix as string[] };
      const skip = after;
      const batch = Number.isFinite(limit) ? limit - count + (skip ? 1 : 0) : undefined;
      try {
        for await (const e of this.#kv.list<T>(selector, { limit: batch })) {
          const key = e.key as string[];
          if (skip && compareKeys(key, skip) === 0) continue;
          after = key;
          yield { key, value: e.value, version: e.versionstamp };
          if (++count >= limit) return;
        }
        return;
      } catch (err) {
        if (!isBusy(err) || attempt > 50) throw err;
        await pause(10 + Math.random() * 40);
      }
    }
  }

  async commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null> {
    checkCommitLimits(checks, mutations);
    const op = this.#kv.atomic();
    for (const c of checks) op.check({ key: c.key as string[], versionstamp: c.version });
    for (const m of mutations) {
      if (m.type === "delete") op.delete(m.key as string[]);
      else {
        const expiry = m.expireInMs === undefined ? undefined : { expireIn: m.expireInMs };
        op.set(m.key as string[], m.value, expiry);
      }
    }
    const result = await patiently("a commit", () => op.commit());
    return result.ok ? result.versionstamp : null;
  }

  async health(): Promise<void> {
    await this.#kv.get(["health"]);
  }

  close(): Promise<void> {
    this.#kv.close();
    return Promise.resolve();
  }
}
