/**
 * @module
 * Manifests, tags and referrers of a repository. Manifest bytes are blobs (stored once,
 * by digest); the repository's manifest link, tags and referrer entries are metadata
 * records changed together in one atomic commit, so a tag never points at a manifest
 * the repository does not have.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { Check, MetadataStore, Mutation, Versioned } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { type Digest, parseDigest, tryParseDigest } from "../oci/digest.ts";
import { type Descriptor, type ParsedManifest, parseManifest } from "../oci/manifest.ts";
import { assertTag } from "../oci/names.ts";
import { retryCommit } from "./atomic.ts";
import type { BlobRecord, Blobs } from "./blobs.ts";
import { digestBytes } from "./digest_bytes.ts";
import { ByteCache } from "./byte_cache.ts";
import { blobKey, meta } from "./keys.ts";

/** A repository's link to a manifest. */
export interface ManifestRecord {
  size: number;
  mediaType: string;
  subject?: string;
  /** Where the bytes are when not at the canonical blob key (see `BlobRecord`). */
  key?: string;
}

/** A referrer entry: the descriptor served in the referrers index. */
export interface ReferrerRecord {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** True when the annotations were too large for the record and live in the manifest. */
  annotationsInManifest?: boolean;
}

/** A resolved manifest reference. */
export interface ResolvedManifest extends ManifestRecord {
  digest: Digest;
}

/** What a manifest PUT did. */
export interface PutResult {
  digest: string;
  subject?: string;
  tags: string[];
}

/** Annotations larger than this stay in the manifest bytes instead of the record. */
const MAX_RECORD_ANNOTATIONS = 16_384;
/** Tags one PUT may set (each is a commit check). */
export const MAX_TAGS_PER_PUT = 50;
/** Tags one commit of a delete by digest removes (each is a commit check). */
const TAGS_PER_DELETE_COMMIT = 50;

/** Manifests, tags and referrers. */
export class Manifests {
  readonly #cache = new ByteCache();

  constructor(
    private readonly driver: BlobDriver,
    private readonly store: MetadataStore,
    private readonly blobs: Blobs,
  ) {}

  /** Resolves a tag or digest to the manifest `repo` has; `MANIFEST_UNKNOWN` if none. */
  async resolve(repo: string, reference: string): Promise<ResolvedManifest> {
    const byDigest = referenceDigest(reference);
    let digest = byDigest;
    if (!digest) {
      assertTag(reference);
      const tag = await this.store.get<{ digest: string }>(meta.tag(repo, reference));
      digest = tag ? tryParseDigest(tag.value.digest) : null;
      if (!digest) throw unknownManifest(repo, reference);
    }
    const link = await this.store.get<ManifestRecord>(meta.manifest(repo, digest.value));
    if (!link) throw unknownManifest(repo, reference);
    return { ...link.value, digest };
  }

  /** The bytes of a resolved manifest (kept in a small cache: they never change). */
  async bytes(manifest: ResolvedManifest): Promise<Uint8Array> {
    const cached = this.#cache.get(manifest.digest.value);
    if (cached) return cached;
    const bytes = await new Response(await this.blobs.open(manifest)).bytes();
    this.#cache.set(manifest.digest.value, bytes);
    return bytes;
  }

  /**
   * Stores `bytes` as a manifest of `repo` under `reference` (a tag or digest) plus
   * `extraTags`. Validates the JSON, the digest and that everything it references is in
   * the repository; a `subject` need not exist yet.
   */
  async put(
    repo: string,
    reference: string,
    bytes: Uint8Array,
    contentType: string | null,
    extraTags: readonly string[],
  ): Promise<PutResult> {
    const byDigest = referenceDigest(reference);
    const tags = [...new Set([...(byDigest ? [] : [assertTag(reference)]), ...extraTags])];
    tags.forEach(assertTag);
    if (tags.length > MAX_TAGS_PER_PUT) {
      throw new RegistryError("TAG_INVALID", `At most ${MAX_TAGS_PER_PUT} tags per request`);
    }
    const digest = digestBytes(bytes, byDigest?.algorithm ?? "sha256");
    if (byDigest && byDigest.value !== digest.value) {
      throw new RegistryError(
        "DIGEST_INVALID",
        `The manifest has digest ${digest.value}, not ${byDigest.value}`,
        { detail: { expected: byDigest.value, actual: digest.value } },
      );
    }
    const parsed = parseManifest(bytes, contentType);
    await this.#verifyReferences(repo, parsed);

    this.#cache.set(digest.value, bytes);
    const stored = await this.store.get<BlobRecord>(meta.blob(digest.value));
    if (!stored) {
      await this.driver.write(blobKey(digest), new Blob([bytes as BlobPart]).stream());
    }
    const record: ManifestRecord = { size: bytes.byteLength, mediaType: parsed.mediaType };
    if (parsed.subject) record.subject = parsed.subject.digest;
    if (stored?.value.key) record.key = stored.value.key;

    await retryCommit(`tags of ${repo}`, async () => {
      const current = tags.length
        ? await getAll<{ digest: string }>(this.store, tags.map((t) => meta.tag(repo, t)))
        : [];
      const checks: Check[] = tags.map((_, i) => ({
        key: meta.tag(repo, tags[i]),
        version: current[i]?.version ?? null,
      }));
      const mutations: Mutation[] = [
        {
          type: "set",
          key: meta.blob(digest.value),
          value: stored?.value ?? { size: bytes.byteLength },
        },
        { type: "set", key: meta.manifest(repo, digest.value), value: record },
        { type: "set", key: meta.repo(repo), value: {} },
      ];
      tags.forEach((tag, i) => {
        const previous = current[i]?.value.digest;
        if (previous && previous !== digest.value) {
          mutations.push({ type: "delete", key: meta.tagged(repo, previous, tag) });
        }
        mutations.push({ type: "set", key: meta.tag(repo, tag), value: { digest: digest.value } });
        mutations.push({ type: "set", key: meta.tagged(repo, digest.value, tag), value: {} });
      });
      if (parsed.subject) {
        mutations.push({
          type: "set",
          key: meta.referrer(repo, parsed.subject.digest, digest.value),
          value: referrerRecord(parsed, digest.value, bytes.byteLength),
        });
      }
      return await this.store.commit(checks, mutations);
    });
    return { digest: digest.value, subject: parsed.subject?.digest, tags };
  }

  /**
   * Deletes by digest (the manifest, every tag pointing at it and its referrer entry) or
   * by tag (the tag alone).
   */
  async delete(repo: string, reference: string): Promise<void> {
    const digest = referenceDigest(reference);
    if (!digest) {
      assertTag(reference);
      await retryCommit(`tag ${reference} of ${repo}`, async () => {
        const tag = await this.store.get<{ digest: string }>(meta.tag(repo, reference));
        if (!tag) throw unknownManifest(repo, reference);
        return await this.store.commit([{ key: tag.key, version: tag.version }], [
          { type: "delete", key: tag.key },
          { type: "delete", key: meta.tagged(repo, tag.value.digest, reference) },
        ]);
      });
      return;
    }
    // A commit has at most 100 checks (one per tag): a manifest with more tags loses them
    // in batches first, and the manifest goes with the last batch.
    let more = true;
    while (more) {
      more = await retryCommit(`manifest ${digest.value} of ${repo}`, async () => {
        const link = await this.store.get<ManifestRecord>(meta.manifest(repo, digest.value));
        if (!link) throw unknownManifest(repo, reference);
        const checks: Check[] = [{ key: link.key, version: link.version }];
        const mutations: Mutation[] = [];
        let batchFull = false;
        for await (const entry of this.store.list(meta.taggedAll(repo, digest.value))) {
          if (mutations.length >= 2 * TAGS_PER_DELETE_COMMIT) {
            batchFull = true;
            break;
          }
          const tag = entry.key[3];
          const current = await this.store.get<{ digest: string }>(meta.tag(repo, tag));
          if (current?.value.digest === digest.value) {
            checks.push({ key: current.key, version: current.version });
            mutations.push({ type: "delete", key: current.key });
          }
          mutations.push({ type: "delete", key: entry.key });
        }
        if (!batchFull) {
          mutations.push({ type: "delete", key: link.key });
          if (link.value.subject) {
            mutations.push({
              type: "delete",
              key: meta.referrer(repo, link.value.subject, digest.value),
            });
          }
        }
        const done = await this.store.commit(checks, mutations);
        return done === null ? null : batchFull;
      });
    }
  }

  /** Referrer descriptors of `subject` in `repo`, optionally of one artifact type. */
  async referrers(repo: string, subject: Digest, artifactType: string | null) {
    const out: Descriptor[] = [];
    for await (
      const entry of this.store.list<ReferrerRecord>(meta.referrers(repo, subject.value))
    ) {
      const r = entry.value;
      if (artifactType !== null && r.artifactType !== artifactType) continue;
      const { annotationsInManifest, ...descriptor } = r;
      if (annotationsInManifest) descriptor.annotations = await this.#annotations(r.digest);
      out.push(descriptor);
    }
    return out;
  }

  async #annotations(digest: string): Promise<Record<string, string> | undefined> {
    const parsed = tryParseDigest(digest);
    if (!parsed) return undefined;
    const bytes = await new Response(await this.blobs.open({ digest: parsed, size: 0 })).bytes();
    return (JSON.parse(new TextDecoder().decode(bytes)) as { annotations?: Record<string, string> })
      .annotations;
  }

  /** Every blob and child manifest referenced must be in the repository. */
  async #verifyReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const blobKeys = parsed.blobs.map((d) => meta.layer(repo, d.digest));
    const blobLinks = await getAll<BlobRecord>(this.store, blobKeys);
    parsed.blobs.forEach((d, i) => {
      const link = blobLinks[i];
      if (!link) {
        throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `Blob ${d.digest} is unknown to ${repo}`, {
          detail: { digest: d.digest },
        });
      }
      if (link.value.size !== d.size) {
        throw new RegistryError(
          "MANIFEST_INVALID",
          `Descriptor of ${d.digest} says ${d.size} bytes; the blob has ${link.value.size}`,
          { detail: { digest: d.digest, size: d.size, actual: link.value.size } },
        );
      }
    });
    const children = await getAll<ManifestRecord>(
      this.store,
      parsed.manifests.map((d) => meta.manifest(repo, d.digest)),
    );
    parsed.manifests.forEach((d, i) => {
      const child = children[i];
      if (!child) {
        throw new RegistryError("MANIFEST_UNKNOWN", `Manifest ${d.digest} is unknown to ${repo}`, {
          status: 400,
          detail: { digest: d.digest },
        });
      }
      if (child.value.size !== d.size) {
        throw new RegistryError(
          "MANIFEST_INVALID",
          `Descriptor of ${d.digest} says ${d.size} bytes; the manifest has ${child.value.size}`,
          { detail: { digest: d.digest, size: d.size, actual: child.value.size } },
        );
      }
    });
  }
}

/**
 * The digest a reference names, or null for a tag. A tag cannot hold a colon, so anything
 * with one is a digest, and a malformed one is `DIGEST_INVALID`, not `TAG_INVALID`.
 */
function referenceDigest(reference: string): Digest | null {
  return reference.includes(":") ? parseDigest(reference) : null;
}

function unknownManifest(repo: string, reference: string): RegistryError {
  return new RegistryError("MANIFEST_UNKNOWN", `Manifest ${reference} is unknown to ${repo}`, {
    detail: { reference },
  });
}

function referrerRecord(parsed: ParsedManifest, digest: string, size: number): ReferrerRecord {
  const record: ReferrerRecord = { mediaType: parsed.mediaType, digest, size };
  if (parsed.artifactType) record.artifactType = parsed.artifactType;
  if (parsed.annotations) {
    if (JSON.stringify(parsed.annotations).length <= MAX_RECORD_ANNOTATIONS) {
      record.annotations = parsed.annotations;
    } else {
      record.annotationsInManifest = true;
    }
  }
  return record;
}

/** `getMany` over any number of keys (the store takes ten at a time). */
export async function getAll<T>(
  store: MetadataStore,
  keys: readonly (readonly string[])[],
): Promise<(Versioned<T> | null)[]> {
  const batches: Promise<(Versioned<T> | null)[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) batches.push(store.getMany<T>(keys.slice(i, i + 10)));
  return (await Promise.all(batches)).flat();
}
