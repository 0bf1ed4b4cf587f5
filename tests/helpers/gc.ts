/**
 * @module
 * Helpers for garbage-collection tests: images made of given layers, indexes and
 * referrers pushed over HTTP, and views of what the stores hold.
 */
import assert from "node:assert/strict";
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { tryParseDigest } from "../../src/oci/digest.ts";
import { blobKey } from "../../src/registry/keys.ts";
import { manifestRefs } from "../../src/registry/manifests.ts";
import type { BlobRecord, ManifestRecord, TagRecord } from "../../src/registry/records.ts";
import { pushBlob, putManifest, randomBytes, sha256 } from "./oci.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

/** A pushed manifest. */
export interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
  /** Config and layer digests (an image), or child digests (an index). */
  refs: string[];
  /** Sizes of the referenced blobs, by digest. */
  sizes: Record<string, number>;
}

/** Options of {@linkcode pushImage}. */
export interface ImageOptions {
  /** A `subject` descriptor: the image is then a referrer. */
  subject?: Pushed;
  artifactType?: string;
}

/**
 * Pushes a config and `layers` into `repo` and a manifest over them, tagged `tag` (or by
 * digest when null).
 */
export async function pushImage(
  base: string,
  repo: string,
  tag: string | null,
  layers: Uint8Array[],
  options: ImageOptions = {},
): Promise<Pushed> {
  const config = await pushBlob(base, repo, JSON.stringify({ os: "linux", n: Math.random() }));
  const descs = [];
  for (const layer of layers) {
    descs.push({ mediaType: LAYER, ...await pushBlob(base, repo, layer) });
  }
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: descs,
  };
  if (options.artifactType) manifest.artifactType = options.artifactType;
  if (options.subject) {
    const s = options.subject;
    manifest.subject = { mediaType: s.mediaType, digest: s.digest, size: s.size };
  }
  const text = JSON.stringify(manifest);
  const res = await putManifest(base, repo, tag ?? sha256(text), text);
  assert.equal(res.status, 201, await res.text());
  return {
    digest: sha256(text),
    size: new TextEncoder().encode(text).byteLength,
    mediaType: OCI_MANIFEST,
    refs: [config.digest, ...descs.map((d) => d.digest)],
    sizes: Object.fromEntries([config, ...descs].map((d) => [d.digest, d.size])),
  };
}

/** Pushes an OCI index over `children`, tagged `tag` (or by digest when null). */
export async function pushIndex(
  base: string,
  repo: string,
  tag: string | null,
  children: Pushed[],
): Promise<Pushed> {
  const text = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size })),
  });
  const res = await putManifest(base, repo, tag ?? sha256(text), text, OCI_INDEX);
  assert.equal(res.status, 201, await res.text());
  return {
    digest: sha256(text),
    size: new TextEncoder().encode(text).byteLength,
    mediaType: OCI_INDEX,
    refs: children.map((c) => c.digest),
    sizes: Object.fromEntries(children.map((c) => [c.digest, c.size])),
  };
}

/** `n` random layers of a few KiB. */
export function layers(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => randomBytes(2048 + i));
}

/** Status of a HEAD of blob `digest` through `repo`. */
export async function headBlob(base: string, repo: string, digest: string): Promise<number> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  await res.body?.cancel();
  return res.status;
}

/** Status of a GET of manifest `reference` of `repo` (its body is read and checked). */
export async function getManifest(base: string, repo: string, reference: string) {
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
  });
  const bytes = await res.bytes();
  if (res.ok) assert.equal(sha256(bytes), res.headers.get("docker-content-digest"));
  return res.status;
}

/** Digests of the blob records the store holds. */
export async function recordDigests(store: MetadataStore): Promise<Set<string>> {
  return new Set(await Array.fromAsync(store.list(["blob"]), (e) => e.key[1]));
}

/** Keys of the bytes under `blobs/`. */
export async function storedKeys(driver: BlobDriver): Promise<Set<string>> {
  return new Set(await Array.fromAsync(driver.list("blobs/"), (e) => e.key));
}

/**
 * Everything the metadata store holds but the records of running processes (heartbeats,
 * leases), as `key => value` lines, for comparisons before and after.
 */
export async function dumpStore(store: MetadataStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.list([] as unknown as string[])) {
    if (e.key[0] === "instance" || e.key[0] === "lease") continue;
    out.push(`${JSON.stringify(e.key)} => ${JSON.stringify(e.value)}`);
  }
  return out;
}

/**
 * What is wrong with the registry, if anything: a tag naming no manifest, a manifest
 * whose bytes, blob records or layer links are gone, bytes cut short. Empty when sound.
 */
export async function integrityProblems(
  driver: BlobDriver,
  store: MetadataStore,
): Promise<string[]> {
  const problems: string[] = [];
  const whole = async (digest: string, where: string) => {
    const record = (await store.get<BlobRecord>(["blob", digest]))?.value;
    if (!record || record.pending || record.deleting !== undefined) {
      problems.push(`${where}: blob ${digest} has no live record`);
      return;
    }
    const parsed = tryParseDigest(digest)!;
    const stat = await driver.stat(record.key ?? blobKey(parsed));
    if (stat?.size !== record.size) problems.push(`${where}: the bytes of ${digest} are not whole`);
  };
  for await (const e of store.list<ManifestRecord>(["manifest"])) {
    const [, repo, digest] = e.key;
    const where = `${repo}@${digest}`;
    await whole(digest, where);
    const refs = await manifestRefs(store, repo, digest, e.value);
    for (const blob of refs?.blobs ?? []) {
      await whole(blob, where);
      if (!await store.get(["layer", repo, blob])) problems.push(`${where}: no link to ${blob}`);
    }
  }
  for await (const e of store.list<TagRecord>(["tag"])) {
    const [, repo, tag] = e.key;
    if (!await store.get(["manifest", repo, e.value.digest])) {
      problems.push(`${repo}:${tag} names ${e.value.digest}, which the repository lacks`);
    }
  }
  return problems;
}

/**
 * What a collection should have removed but did not: records no link names, bytes no
 * record names. Empty when the registry holds exactly what it references.
 */
export async function leftovers(driver: BlobDriver, store: MetadataStore): Promise<string[]> {
  const linked = new Set<string>();
  for (const prefix of [["layer"], ["manifest"]]) {
    for await (const e of store.list(prefix)) linked.add(e.key[2]);
  }
  const out: string[] = [];
  const keys = new Set<string>();
  for await (const e of store.list<BlobRecord>(["blob"])) {
    if (!linked.has(e.key[1])) out.push(`record ${e.key[1]} is linked nowhere`);
    keys.add(e.value.key ?? blobKey(tryParseDigest(e.key[1])!));
  }
  for await (const e of driver.list("blobs/")) {
    if (!keys.has(e.key)) out.push(`bytes at ${e.key} have no record`);
  }
  return out;
}
