/**
 * @module
 * Sweeping bytes: blob records no repository links any more, and bytes no record names
 * (a crash's leftovers). Marking reads metadata only; only this sweep lists the blob
 * store, and only to find leftovers.
 *
 * A record goes in three steps, each safe to stop after (see `blob_states.ts`):
 *
 * 1. a commit moves it to `deleting`, checking the version the run judged (so a link,
 *    mount or claim made since wins, and the blob stays);
 * 2. the bytes are deleted (writers of the digest wait meanwhile);
 * 3. a commit removes the record, checking it is still this run's.
 *
 * A run that dies after step 1 leaves a record that runs out; the next run finishes it.
 * Leftover bytes at a digest's own key go the same way (step 1 checks that no record
 * exists); leftover bytes at an upload's own key (`blobs/_uploaded/<id>`, S3) go only
 * while neither that upload's session or marker nor a `["blob-key", key]` entry exists:
 * an upload's link commit ends the one and writes the other at once.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { isLive, otherClaims } from "../registry/blob_states.ts";
import { tryParseDigest } from "../oci/digest.ts";
import { blobKey, BLOBS_PREFIX, meta, parseBlobKey } from "../registry/keys.ts";
import type { BlobRecord } from "../registry/records.ts";
import type { Pacer } from "./pace.ts";
import type { GcReport } from "./report.ts";
import type { Entry } from "./repository.ts";

/**
 * How long a record stays `deleting` before it runs out: writers of a digest a dead
 * collector left deleting wait this long at most. Bytes are deleted only while a third
 * of it is left, so a collector that stalls never deletes after a writer took over.
 */
export const DELETING_MS = 30_000;
/** Records moved to `deleting` per commit: two checks each (writers of them wait). */
const BATCH = 45;
/** Byte deletions under way at once. */
const PARALLEL_DELETES = 8;

/** What the sweeps need. */
export interface SweepContext {
  driver: BlobDriver;
  store: MetadataStore;
  report: GcReport;
  dryRun: boolean;
  grace: number;
  signal?: AbortSignal;
  /** How long records stay `deleting` ({@linkcode DELETING_MS}; shorter in tests). */
  deletingMs?: number;
  /** Rests between steps (online collections). */
  pacer: Pacer;
}

/** What the registry still references after marking. */
export interface References {
  /** Digests a link names, or a live manifest references. */
  digests: Set<string>;
  /** Driver keys records and links name, other than digests' own keys. */
  keys: Set<string>;
}

/** A blob record as a collection judged it. */
export interface RecordEntry extends Entry<BlobRecord> {
  /** Version of `["blob-linked", digest]` (links that kept the record as it was). */
  linked: string | null;
}

/** Every blob record, with its versions (read before anything is marked). */
export async function readBlobRecords(
  store: MetadataStore,
  pacer: Pacer,
): Promise<Map<string, RecordEntry>> {
  const records = new Map<string, RecordEntry>();
  for await (const e of store.list<BlobRecord>(meta.blobs())) {
    records.set(e.key[1], { version: e.version, value: e.value, linked: null });
    await pacer.tick();
  }
  for await (const e of store.list(meta.blobsLinked())) {
    const record = records.get(e.key[1]);
    if (record) record.linked = e.version;
    await pacer.tick();
  }
  return records;
}

/**
 * The digests and keys every repository's links name (read after marking), plus
 * `extra` digests; links in `dropped` (`repo\0digest`, a dry run's plan) do not count.
 */
export async function readReferences(
  store: MetadataStore,
  records: Map<string, RecordEntry>,
  extra: Iterable<string>,
  dropped: Set<string>,
  pacer: Pacer,
): Promise<References> {
  const digests = new Set<string>(extra);
  const keys = new Set<string>();
  // Only keys other than the digest's own: the digests stand for those.
  const name = (digest: string, key: string | undefined) => {
    if (!key) return;
    const parsed = tryParseDigest(digest);
    if (!parsed || key !== blobKey(parsed)) keys.add(key);
  };
  for (const [digest, r] of records) name(digest, r.value.key);
  for (const prefix of [meta.allLayers(), meta.allManifests()]) {
    for await (const e of store.list<{ key?: string }>(prefix)) {
      const [, repo, digest] = e.key;
      if (dropped.has(`${repo}\0${digest}`)) continue;
      digests.add(digest);
      name(digest, e.value.key);
      await pacer.tick();
    }
  }
  return { digests, keys };
}

/** Removes records no repository references, and their bytes. */
export async function sweepRecords(
  ctx: SweepContext,
  records: Map<string, RecordEntry>,
  refs: References,
): Promise<void> {
  const now = Date.now();
  const doomed: string[] = [];
  for (const [digest, r] of records) {
    if (refs.digests.has(digest)) continue;
    if (otherClaims(r.value, null, now)) {
      ctx.report.claimed++;
      continue;
    }
    if (r.value.deleting !== undefined && r.value.deleting > now) continue;
    doomed.push(digest);
  }
  for (let i = 0; i < doomed.length; i += BATCH) {
    ctx.signal?.throwIfAborted();
    await ctx.pacer.tick();
    const batch = doomed.slice(i, i + BATCH).map((digest) => ({ digest, ...records.get(digest)! }));
    if (ctx.dryRun) {
      for (const b of batch) removed(ctx, b.digest, b.value);
      continue;
    }
    // One commit for the batch; when a check fails, each record on its own.
    const span = ctx.deletingMs ?? DELETING_MS;
    let won = await toDeleting(ctx.store, batch, span);
    if (!won) {
      won = [];
      for (const b of batch) won.push(...await toDeleting(ctx.store, [b], span) ?? []);
    }
    const deleted: Doomed[] = [];
    await eachLimit(won, PARALLEL_DELETES, async (b) => {
      if (Date.now() > b.until - span / 3) return;
      const parsed = tryParseDigest(b.digest);
      if (!parsed) return;
      await ctx.driver.delete(b.value.key ?? blobKey(parsed));
      deleted.push(b);
    });
    // The records go in one commit; when a check fails, each on its own.
    const removal = (list: Doomed[]) =>
      ctx.store.commit(
        list.map((b) => ({ key: meta.blob(b.digest), version: b.version })),
        list.flatMap((b): Mutation[] => [
          { type: "delete", key: meta.blob(b.digest) },
          { type: "delete", key: meta.blobLinked(b.digest) },
          ...(b.value.key ? [{ type: "delete" as const, key: meta.blobAt(b.value.key) }] : []),
        ]),
      );
    const gone = deleted.length && await removal(deleted) !== null
      ? deleted
      : await filterAsync(deleted, async (b) => await removal([b]) !== null);
    for (const b of gone) removed(ctx, b.digest, records.get(b.digest)!.value);
  }
}

/** The items `keep` accepts, one after another. */
async function filterAsync<T>(items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) if (await keep(item)) out.push(item);
  return out;
}

interface Doomed {
  digest: string;
  version: string;
  value: BlobRecord;
  until: number;
}

/**
 * Moves `batch` to `deleting` in one commit, checking each record and its
 * `blob-linked` entry as judged; null when a check failed.
 */
async function toDeleting(
  store: MetadataStore,
  batch: ({ digest: string } & RecordEntry)[],
  span: number,
): Promise<Doomed[] | null> {
  const until = Date.now() + span;
  const values = batch.map((b) => {
    const { claims: _, pending: __, ...rest } = b.value;
    return { ...rest, deleting: until };
  });
  const version = await store.commit(
    batch.flatMap((b) => [
      { key: meta.blob(b.digest), version: b.version },
      { key: meta.blobLinked(b.digest), version: b.linked },
    ]),
    batch.map((b, i) => ({ type: "set", key: meta.blob(b.digest), value: values[i] })),
  );
  if (version === null) return null;
  return batch.map((b, i) => ({ digest: b.digest, version, value: values[i], until }));
}

/** Removes bytes no record names and nothing is about to record, older than the grace. */
export async function sweepOrphans(
  ctx: SweepContext,
  records: Map<string, RecordEntry>,
  refs: References,
): Promise<void> {
  const cutoff = Date.now() - ctx.grace;
  for await (const entry of ctx.driver.list(BLOBS_PREFIX)) {
    ctx.signal?.throwIfAborted();
    await ctx.pacer.tick();
    if (entry.modified > cutoff || refs.keys.has(entry.key)) continue;
    const kind = parseBlobKey(entry.key);
    if (kind.kind === "digest") {
      const parsed = tryParseDigest(kind.digest);
      if (!parsed || blobKey(parsed) !== entry.key) continue;
      if (records.has(kind.digest) || refs.digests.has(kind.digest)) continue;
      if (ctx.dryRun) {
        orphan(ctx, entry.key, entry.size);
        continue;
      }
      // Claimed like a record: a writer claiming the digest meanwhile wins.
      const until = Date.now() + (ctx.deletingMs ?? DELETING_MS);
      const key = meta.blob(kind.digest);
      const version = await ctx.store.commit([{ key, version: null }], [
        { type: "set", key, value: { size: entry.size, deleting: until } },
      ]);
      if (version === null) continue;
      await ctx.driver.delete(entry.key);
      await ctx.store.commit([{ key, version }], [{ type: "delete", key }]);
      orphan(ctx, entry.key, entry.size);
    } else if (kind.kind === "uploaded") {
      const [session, named] = await ctx.store.getMany([
        meta.upload(kind.upload),
        meta.blobAt(entry.key),
      ]);
      if (session || named) continue;
      if (!ctx.dryRun) await ctx.driver.delete(entry.key);
      orphan(ctx, entry.key, entry.size);
    }
  }
}

/** Counts a removed record; bytes of one still pending were never in place. */
function removed(ctx: SweepContext, digest: string, record: BlobRecord): void {
  ctx.report.removed.blobs.push(digest);
  if (isLive(record) || record.deleting !== undefined) ctx.report.reclaimed += record.size;
}

function orphan(ctx: SweepContext, key: string, size: number): void {
  ctx.report.removed.orphans.push(key);
  ctx.report.reclaimed += size;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
