/**
 * @module
 * Expiry of pulled-through content: each manifest and blob of a mirrored repository has
 * a record of its last pull (`["mirror-pull", <repo>, <digest>]` in the metadata store,
 * so the state is shared by a fleet and survives restarts). A job, run by one instance
 * of the fleet at a time, removes the repository's links to what was not pulled for the
 * mirror's `ttl` (a manifest with its tags, a blob's layer link) and drops repositories
 * left empty from the catalog. Bytes are never removed here: a hosted repository may
 * link the same blob, and bytes nobody links go at garbage collection.
 *
 * A pull refreshes its record at most every tenth of the ttl (and at most every ten
 * minutes), so serving from the cache does not write to the store on every request.
 */
import type { MetadataStore, Versioned } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { parseDigest } from "../oci/digest.ts";
import { systemContext } from "../registry/events.ts";
import { meta } from "../registry/keys.ts";
import type { Registry } from "../registry/repository.ts";
import type { MirrorSet } from "./mirrors.ts";

/** The last pull of one manifest or blob. */
export interface PullRecord {
  /** Milliseconds since the epoch. */
  at: number;
  kind: "manifest" | "blob";
}

/** Entries of the write throttle kept before it starts over. */
const MAX_REMEMBERED = 100_000;

/** Writes pull records, throttled. */
export class PullTimes {
  readonly #written = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: () => MetadataStore,
    private readonly logger: Logger,
  ) {}

  /**
   * Records a pull of `digest` in `repo` now, unless one was recorded less than a tenth
   * of `ttl` ago (`force` records anyway: the content was just stored). `ttl` 0 means
   * the content never expires, so nothing is recorded.
   */
  touch(repo: string, digest: string, kind: PullRecord["kind"], ttl: number, force = false) {
    if (ttl === 0) return;
    const id = `${repo}\n${digest}`;
    const now = Date.now();
    const last = this.#written.get(id);
    if (!force && last !== undefined && now - last < Math.min(ttl / 10, 600_000)) return;
    if (this.#written.size >= MAX_REMEMBERED) this.#written.clear();
    this.#written.set(id, now);
    const value: PullRecord = { at: now, kind };
    const write = this.store().commit([], [{
      type: "set",
      key: meta.mirrorPull(repo, digest),
      value,
    }]).catch((err) => {
      this.#written.delete(id);
      this.logger.warn("mirror: recording a pull failed", { repo, digest, error: err });
    }).finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /** Forgets what was written (after expiry removed records, the next pull writes again). */
  forget(repo: string, digest: string): void {
    this.#written.delete(`${repo}\n${digest}`);
  }

  /** Waits for the writes in flight. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}

/** What one expiry run removed. */
export interface ExpiryResult {
  manifests: number;
  blobs: number;
  repositories: number;
}

/** What {@linkcode expire} needs. */
export interface ExpiryDeps {
  store: MetadataStore;
  /** The registry under the mirror (whose services may delete). */
  registry: Registry;
  mirrors: MirrorSet;
  pulls: PullTimes;
  logger: Logger;
}

/** One expiry run: removes what was not pulled within its mirror's ttl. */
export async function expire(deps: ExpiryDeps, signal?: AbortSignal): Promise<ExpiryResult> {
  const { store, registry, mirrors, pulls } = deps;
  await pulls.flush();
  const result: ExpiryResult = { manifests: 0, blobs: 0, repositories: 0 };
  const emptied = new Set<string>();
  const context = systemContext();
  const now = Date.now();
  const expired: Versioned<PullRecord>[] = [];
  for await (const entry of store.list<PullRecord>(meta.mirrorPulls())) {
    if (signal?.aborted) break;
    const ttl = mirrors.forRepository(entry.key[1])?.mirror.config.ttl ?? 0;
    if (ttl > 0 && now - entry.value.at > ttl) expired.push(entry);
  }
  for (const entry of expired) {
    if (signal?.aborted) break;
    const [, repo, digest] = entry.key;
    // Claim the record first: a pull that refreshed it meanwhile keeps the content.
    if (await store.commit([entry], [{ type: "delete", key: entry.key }]) === null) continue;
    pulls.forget(repo, digest);
    const repository = registry.repository(repo, context);
    try {
      if (entry.value.kind === "manifest") {
        await repository.manifests.delete(digest);
        result.manifests++;
      } else {
        await repository.blobs.delete(parseDigest(digest));
        result.blobs++;
      }
    } catch (err) {
      const gone = err instanceof RegistryError &&
        (err.code === "MANIFEST_UNKNOWN" || err.code === "BLOB_UNKNOWN");
      if (!gone) {
        // Put the claim back, so the next run tries again instead of forgetting the content.
        await store.commit([], [{ type: "set", key: entry.key, value: entry.value }])
          .catch(() => {});
        throw err;
      }
    }
    emptied.add(repo);
  }
  for (const repo of emptied) {
    if (await dropIfEmpty(store, repo)) result.repositories++;
  }
  if (result.manifests + result.blobs > 0) {
    deps.logger.info("mirror: expired content", { ...result });
  }
  return result;
}

/** Removes `repo` from the catalog when it links nothing any more. */
async function dropIfEmpty(store: MetadataStore, repo: string): Promise<boolean> {
  const index = await store.get(meta.repo(repo));
  if (!index) return false;
  for (const prefix of [meta.layers(repo), meta.manifests(repo)]) {
    for await (const _ of store.list(prefix, { limit: 1 })) return false;
  }
  // A link committed meanwhile rewrites the index record, so this check keeps it.
  return await store.commit([index], [{ type: "delete", key: index.key }]) !== null;
}
