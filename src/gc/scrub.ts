/**
 * @module
 * Scrubbing: every live blob record's bytes are read back and hashed. A blob whose bytes
 * are missing, cut short or do not hash to its digest loses its record, its bytes and
 * every link to it (a manifest link goes with its tags), so HEAD says 404 and clients
 * push it again: the verified re-push repairs it. Manifests whose digest covers other
 * bytes than the stored ones (a format's `digested`) are hashed the way their format
 * says.
 *
 * A condemned blob goes through the collector's `deleting` state (`sweep.ts`), so
 * writers of the same digest wait for it to be gone and then claim it anew; every
 * repository that loses a link has its collector mark bumped, so a manifest PUT that
 * checked its references before checks them again.
 */
import { createHash } from "node:crypto";
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import type { Logger } from "../log.ts";
import { tryParseDigest } from "../oci/digest.ts";
import { parseManifest } from "../oci/manifests/mod.ts";
import { isLive, otherClaims } from "../registry/blob_states.ts";
import { blobKey, meta } from "../registry/keys.ts";
import type { BlobRecord, ManifestRecord } from "../registry/records.ts";
import { Pacer } from "./pace.ts";
import { DELETING_MS } from "./sweep.ts";
import { joinBytes } from "../streams/bytes.ts";

/** What one scrub found. */
export interface ScrubReport {
  dryRun: boolean;
  /** Blobs read and hashed. */
  checked: number;
  /** Bytes read. */
  bytes: number;
  /** Blobs found bad, and why; removed unless on a dry run. */
  bad: { digest: string; why: string }[];
  ms: number;
}

/** Options of {@linkcode scrub}. */
export interface ScrubOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
  /** Share of the time the scrub may work (default 1); it rests the rest (`pace.ts`). */
  duty?: number;
}

/** Mutations per commit when removing links of a condemned blob. */
const PER_COMMIT = 600;

/** Re-hashes every live blob; removes the bad ones. */
export async function scrub(
  driver: BlobDriver,
  store: MetadataStore,
  options: ScrubOptions = {},
): Promise<ScrubReport> {
  const started = Date.now();
  const report: ScrubReport = {
    dryRun: options.dryRun ?? false,
    checked: 0,
    bytes: 0,
    bad: [],
    ms: 0,
  };
  // Manifests by digest: their media type (to hash them as their format says) and links.
  const manifests = new Map<string, { mediaType: string; repos: string[] }>();
  for await (const e of store.list<ManifestRecord>(meta.allManifests())) {
    const [, repo, digest] = e.key;
    const m = manifests.get(digest) ?? { mediaType: e.value.mediaType, repos: [] };
    m.repos.push(repo);
    manifests.set(digest, m);
  }
  const pacer = new Pacer(options.duty ?? 1);
  for await (const e of store.list<BlobRecord>(meta.blobs())) {
    options.signal?.throwIfAborted();
    await pacer.tick();
    const record = e.value;
    const digest = tryParseDigest(e.key[1]);
    if (!digest || !isLive(record)) continue;
    const key = record.key ?? blobKey(digest);
    const why = await verify(
      driver,
      key,
      record.size,
      digest.algorithm,
      digest.hex,
      manifests.get(digest.value)?.mediaType,
    );
    report.checked++;
    report.bytes += record.size;
    if (why === null) continue;
    report.bad.push({ digest: digest.value, why });
    options.logger?.warn("scrub found a bad blob", { digest: digest.value, key, why });
    if (report.dryRun) continue;
    await condemn(
      driver,
      store,
      e.key[1],
      e.version,
      record,
      manifests.get(digest.value)?.repos ?? [],
    );
  }
  report.ms = Date.now() - started;
  options.logger?.info(report.dryRun ? "scrub (dry run)" : "scrub", {
    checked: report.checked,
    bytes: report.bytes,
    bad: report.bad.length,
    ms: report.ms,
  });
  return report;
}

/** Null when the bytes at `key` are whole and hash to `hex`; otherwise why not. */
async function verify(
  driver: BlobDriver,
  key: string,
  size: number,
  algorithm: string,
  hex: string,
  manifestType: string | undefined,
): Promise<string | null> {
  const stream = await driver.read(key, undefined, { size });
  if (!stream) return `its bytes at ${key} are missing or not ${size} bytes long`;
  const hash = createHash(algorithm);
  const kept: Uint8Array[] = [];
  let read = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    read += chunk.byteLength;
    if (manifestType) kept.push(chunk);
  }
  if (read !== size) return `${read} bytes were read, not ${size}`;
  if (hash.digest("hex") === hex) return null;
  if (manifestType) {
    // A format whose digest covers other bytes than the stored ones (signed schema 1).
    try {
      const parsed = parseManifest(joinBytes(kept, read), manifestType);
      if (createHash(algorithm).update(parsed.digested).digest("hex") === hex) return null;
    } catch {
      // Not even a manifest any more.
    }
  }
  return `its bytes do not hash to ${algorithm}:${hex}`;
}

/** Removes a bad blob: its links (and manifest links with their tags), bytes and record. */
async function condemn(
  driver: BlobDriver,
  store: MetadataStore,
  digest: string,
  version: string,
  record: BlobRecord,
  manifestRepos: string[],
): Promise<void> {
  const key = meta.blob(digest);
  if (otherClaims(record, null)) return; // a writer is about to put bytes in place
  const until = Date.now() + DELETING_MS;
  const { claims: _, ...rest } = record;
  const deleting = await store.commit([{ key, version }], [
    { type: "set", key, value: { ...rest, deleting: until } },
  ]);
  if (deleting === null) return; // changed meanwhile: the next scrub looks again
  // Writers of the digest wait while it is deleting, so nothing links it meanwhile. Each
  // commit that removes links of a repository bumps that repository's collector mark.
  const byRepo = new Map<string, Mutation[]>();
  const add = (repo: string, ...m: Mutation[]) =>
    byRepo.set(repo, [...byRepo.get(repo) ?? [], ...m]);
  for await (const e of store.list(meta.linkedAll(digest))) {
    const repo = e.key[2];
    add(repo, { type: "delete", key: meta.layer(repo, digest) }, { type: "delete", key: e.key });
  }
  for (const repo of manifestRepos) {
    const link = await store.get<ManifestRecord>(meta.manifest(repo, digest));
    if (!link) continue;
    add(repo, { type: "delete", key: link.key });
    for (let i = 0; i < (link.value.refParts ?? 0); i++) {
      add(repo, { type: "delete", key: meta.manifestRefs(repo, digest, i) });
    }
    if (link.value.subject) {
      add(repo, { type: "delete", key: meta.referrer(repo, link.value.subject, digest) });
    }
    for await (const t of store.list(meta.taggedAll(repo, digest))) {
      const current = await store.get<{ digest: string }>(meta.tag(repo, t.key[3]));
      if (current?.value.digest === digest) add(repo, { type: "delete", key: current.key });
      add(repo, { type: "delete", key: t.key });
    }
  }
  for (const [repo, mutations] of byRepo) {
    for (let i = 0; i < mutations.length; i += PER_COMMIT) {
      await store.commit([], [
        { type: "set", key: meta.repoGc(repo), value: { at: Date.now() } },
        ...mutations.slice(i, i + PER_COMMIT),
      ]);
    }
  }
  if (Date.now() < until) await driver.delete(record.key ?? keyOf(digest));
  const done: Mutation[] = [{ type: "delete", key }, {
    type: "delete",
    key: meta.blobLinked(digest),
  }];
  if (record.key) done.push({ type: "delete", key: meta.blobAt(record.key) });
  await store.commit([{ key, version: deleting }], done);
}

function keyOf(digest: string): string {
  return blobKey(tryParseDigest(digest)!);
}
