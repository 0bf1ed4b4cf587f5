/**
 * @module
 * Manifests and tags of a repository. Manifest bytes are blobs (stored once, by digest);
 * the repository's manifest link (which records when it was pushed and what it
 * references), its tags and its referrer entry are metadata records changed together in
 * one atomic commit, so a tag never points at a manifest the repository does not have,
 * and every change carries its events in the same commit.
 */
import type { Check, MetadataStore, Mutation, Versioned } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { type Digest, parseDigest, tryParseDigest } from "../oci/digest.ts";
import {
  type ManifestFormats,
  type ParsedManifest,
  SCHEMA1_FORMATS,
  STANDARD_FORMATS,
} from "../oci/manifests/mod.ts";
import { assertTag, isValidTag } from "../oci/names.ts";
import { retryCommit } from "./atomic.ts";
import type { BlobStore } from "./blobs.ts";
import type { Holder } from "./blob_states.ts";
import { ByteCache } from "./byte_cache.ts";
import { digestBytes } from "./digest_bytes.ts";
import type { EventInput, Events } from "./events.ts";
import { blobKey, meta } from "./keys.ts";
import { tagTimeMutations } from "./tag_times.ts";
import type {
  BlobRecord,
  ManifestRecord,
  ManifestRefs,
  ReferrerRecord,
  TagRecord,
} from "./records.ts";
import type {
  ManifestContent,
  ManifestInfo,
  ManifestRequest,
  ManifestService,
  Page,
  PutManifestOptions,
  PutManifestResult,
} from "./repository.ts";
import { assemble, signatureDeletions, signatureMutations } from "./signatures.ts";

/** Annotations larger than this stay in the manifest bytes instead of the record. */
const MAX_RECORD_ANNOTATIONS = 16_384;
/** References larger than this (as JSON) go into `manifest-refs` records of this size. */
const MAX_RECORD_REFS = 32_768;
/**
 * Most references (blobs plus child manifests) one manifest may have: its references
 * are written in the commit that stores it, and a commit carries at most 800 KB.
 */
export const MAX_REFERENCES = 5_000;
/** Tags one PUT may set (each is a commit check). */
export const MAX_TAGS_PER_PUT = 50;
/**
 * Tags one commit of a delete by digest removes: each is a check, and each brings its
 * events' outbox records (one per notification endpoint) into the same commit, which must
 * stay within 800 KB.
 */
const TAGS_PER_DELETE_COMMIT = 25;

/** A manifest link resolved from a reference. */
interface Resolved extends ManifestInfo {
  key?: string;
  /** The tag the reference named, if it was one. */
  tag?: string;
}

/** Manifest bytes and records, registry-wide (the byte cache is shared). */
export class ManifestStore {
  readonly #cache = new ByteCache();

  /** `formats`: what pushes may be (schema 1 only with `compatibility.schema1.enabled`). */
  constructor(
    readonly blobs: BlobStore,
    readonly store: MetadataStore,
    readonly formats: ManifestFormats = STANDARD_FORMATS,
  ) {}

  /** The formats a push is parsed with (`anyFormat`: every one Berth can store). */
  formatsFor(options: PutManifestOptions): ManifestFormats {
    return options.anyFormat ? SCHEMA1_FORMATS : this.formats;
  }

  /** The bytes of a manifest (kept in a small cache: they never change). */
  async bytes(manifest: Resolved): Promise<Uint8Array> {
    const cached = this.#cache.get(manifest.digest.value);
    if (cached) return cached;
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await this.blobs.open(manifest);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `The bytes of manifest ${manifest.digest.value} are missing; push it again`,
        { detail: { digest: manifest.digest.value } },
      );
    }
    const bytes = await new Response(stream).bytes();
    this.#cache.set(manifest.digest.value, bytes);
    return bytes;
  }

  /**
   * Stores manifest bytes under their digest; returns the key. Called by `BlobStore.hold`
   * under the PUT's claim, only when whole bytes are not stored already.
   */
  async write(digest: Digest, bytes: Uint8Array): Promise<string> {
    this.#cache.set(digest.value, bytes);
    const key = blobKey(digest);
    await this.blobs.driver.write(key, new Blob([bytes as BlobPart]).stream());
    return key;
  }

  /** Annotations of a referrer too large for its record, read from the manifest. */
  async annotations(repo: string, digest: string): Promise<Record<string, string> | undefined> {
    const parsed = tryParseDigest(digest);
    if (!parsed) return undefined;
    const link = await this.store.get<ManifestRecord>(meta.manifest(repo, digest));
    if (!link) return undefined;
    const bytes = await this.bytes({ ...link.value, digest: parsed });
    return (JSON.parse(new TextDecoder().decode(bytes)) as { annotations?: Record<string, string> })
      .annotations;
  }
}

/** {@linkcode ManifestService} of one repository. */
export class RepositoryManifests implements ManifestService {
  constructor(
    private readonly manifests: ManifestStore,
    private readonly repo: string,
    private readonly events: Events,
  ) {}

  get #store(): MetadataStore {
    return this.manifests.store;
  }

  async stat(reference: string, request: ManifestRequest = {}): Promise<ManifestInfo> {
    const found = await this.#resolve(reference);
    await assemble(this.#store, this.repo, found, () => this.manifests.bytes(found));
    this.#checkAccept(found, reference, request);
    return info(found);
  }

  async get(reference: string, request: ManifestRequest = {}): Promise<ManifestContent> {
    const found = await this.#resolve(reference);
    const assembled = await assemble(
      this.#store,
      this.repo,
      found,
      () => this.manifests.bytes(found),
    );
    this.#checkAccept(found, reference, request);
    const bytes = assembled ?? await this.manifests.bytes(found);
    if (!request.quiet) {
      this.events.pulled({
        type: "manifest.pulled",
        digest: found.digest.value,
        size: found.size,
        mediaType: found.mediaType,
        ...(found.tag ? { tag: found.tag } : {}),
      });
    }
    return { ...info(found), bytes };
  }

  async tagsOf(digest: Digest, n: number): Promise<Page> {
    const items: string[] = [];
    const limit = Math.max(0, Math.floor(n));
    for await (
      const entry of this.#store.list(meta.taggedAll(this.repo, digest.value), { limit: limit + 1 })
    ) {
      items.push(entry.key[3]);
    }
    const more = items.length > limit;
    return { items: more ? items.slice(0, limit) : items, more };
  }

  async put(
    reference: string,
    bytes: Uint8Array,
    contentType: string | null,
    extraTags: readonly string[],
    options: PutManifestOptions = {},
  ): Promise<PutManifestResult> {
    const repo = this.repo;
    const byDigest = referenceDigest(reference);
    const tags = [...new Set([...(byDigest ? [] : [assertTag(reference)]), ...extraTags])];
    tags.forEach(assertTag);
    if (tags.length > MAX_TAGS_PER_PUT) {
      throw new RegistryError("TAG_INVALID", `At most ${MAX_TAGS_PER_PUT} tags per request`);
    }
    // The digest is checked before the body is judged, as distribution does.
    let parsed: ParsedManifest | RegistryError;
    try {
      parsed = this.manifests.formatsFor(options).parse(bytes, contentType);
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      parsed = err;
    }
    const digested = parsed instanceof RegistryError ? bytes : parsed.digested;
    const digest = digestBytes(digested, byDigest?.algorithm ?? "sha256");
    if (byDigest && byDigest.value !== digest.value) {
      throw new RegistryError(
        "DIGEST_INVALID",
        `The manifest has digest ${digest.value}, not ${byDigest.value}`,
        { detail: { expected: byDigest.value, actual: digest.value } },
      );
    }
    if (parsed instanceof RegistryError) throw parsed;
    const manifest = parsed;
    await this.manifests.formats.admit(manifest, {
      repository: repo,
      tag: byDigest ? null : reference,
    });
    // From here on, the bytes stored under the digest: the pushed bytes, or the signed
    // payload without its signatures (schema 1), which are kept apart.
    bytes = manifest.digested;
    const count = manifest.blobs.length + manifest.manifests.length;
    if (count > MAX_REFERENCES) {
      throw new RegistryError(
        "MANIFEST_INVALID",
        `The manifest references ${count} blobs and manifests; at most ${MAX_REFERENCES} are accepted`,
        { detail: { references: count, limit: MAX_REFERENCES } },
      );
    }
    // The collector removes links of this repository only in commits that bump its mark
    // (`repo-gc`), which is read before the references are checked and checked by the
    // commit below: a collection in between makes this PUT check them again, so it
    // never commits a manifest whose blobs the collector took meanwhile. A mirror's
    // copy need not have its references yet (`requireReferences: false`).
    const verify = options.requireReferences !== false;
    let mark = await this.#store.get(meta.repoGc(repo));
    if (verify) await this.#verifyReferences(manifest);
    const signatures = await signatureMutations(
      this.#store,
      repo,
      digest.value,
      manifest.signatures,
      Date.now(),
    );

    // The manifest's own bytes are written under this PUT's claim on the digest (see
    // `BlobStore.hold`), so the collector cannot delete them before they are recorded.
    const holder: Holder = { id: crypto.randomUUID(), key: null };
    const now = Date.now();
    const refs: ManifestRefs = {
      blobs: manifest.blobs.map((d) => d.digest),
      manifests: manifest.manifests.map((d) => d.digest),
    };
    const record: ManifestRecord = {
      size: bytes.byteLength,
      mediaType: manifest.mediaType,
      created: now,
    };
    if (manifest.subject) record.subject = manifest.subject.digest;
    const refParts = splitRefs(refs);
    if (refParts.length === 0) record.refs = refs;
    else record.refParts = refParts.length;

    const pushed: EventInput = {
      type: "manifest.pushed",
      digest: digest.value,
      size: bytes.byteLength,
      mediaType: manifest.mediaType,
      references: [...refs.blobs, ...refs.manifests],
      tags,
    };
    await retryCommit(`tags of ${repo}`, async () => {
      const latest = await this.#store.get(meta.repoGc(repo));
      if (latest?.version !== mark?.version) {
        mark = latest;
        if (verify) await this.#verifyReferences(manifest);
      }
      const own = await this.manifests.blobs.hold(
        digest,
        bytes.byteLength,
        holder,
        () => this.manifests.write(digest, bytes),
        { rewrite: true },
      );
      if (own.value.key) record.key = own.value.key;
      else delete record.key;
      const current = tags.length
        ? await getAll<TagRecord>(this.#store, tags.map((t) => meta.tag(repo, t)))
        : [];
      const checks: Check[] = tags.map((_, i) => ({
        key: meta.tag(repo, tags[i]),
        version: current[i]?.version ?? null,
      }));
      checks.push(own.check, { key: meta.repoGc(repo), version: mark?.version ?? null });
      const mutations: Mutation[] = [
        this.manifests.blobs.recordMutation(digest.value, own, now),
        { type: "set", key: meta.manifest(repo, digest.value), value: record },
        { type: "set", key: meta.repo(repo), value: { created: now } },
        // Blind (no check on it): concurrent PUTs never conflict here, but a collector's
        // commit in this repository, which checks it, fails and marks again.
        { type: "set", key: meta.repoPushed(repo), value: { at: now } },
        ...refParts.map((part, i) => ({
          type: "set" as const,
          key: meta.manifestRefs(repo, digest.value, i),
          value: part,
        })),
        ...signatures,
      ];
      const inputs: EventInput[] = [pushed];
      tags.forEach((tag, i) => {
        const previous = current[i]?.value.digest;
        if (previous && previous !== digest.value) {
          mutations.push({ type: "delete", key: meta.tagged(repo, previous, tag) });
        }
        const value: TagRecord = { digest: digest.value, updated: now };
        mutations.push({ type: "set", key: meta.tag(repo, tag), value });
        mutations.push({ type: "set", key: meta.tagged(repo, digest.value, tag), value: {} });
        mutations.push(...tagTimeMutations(repo, tag, current[i]?.value, value));
        if (previous !== digest.value) {
          inputs.push({
            type: "tag.moved",
            tag,
            digest: digest.value,
            ...(previous ? { previous } : {}),
          });
        }
      });
      if (manifest.subject) {
        mutations.push({
          type: "set",
          key: meta.referrer(repo, manifest.subject.digest, digest.value),
          value: referrerRecord(manifest, digest.value, bytes.byteLength),
        });
      }
      const made = this.events.make(inputs);
      mutations.push(...this.events.mutations(made));
      const done = await this.#store.commit(checks, mutations);
      if (done !== null) this.events.notify(made);
      return done;
    }).catch(async (err) => {
      await this.manifests.blobs.release(digest, holder).catch(() => {});
      throw err;
    });
    return { digest: digest.value, subject: manifest.subject?.digest, tags };
  }

  /**
   * Deletes by digest (the manifest, every tag pointing at it and its referrer entry) or
   * by tag (the tag alone).
   */
  async delete(reference: string): Promise<void> {
    const repo = this.repo;
    const digest = referenceDigest(reference);
    if (!digest) {
      if (!isValidTag(reference)) throw unknownManifest(repo, reference);
      await retryCommit(`tag ${reference} of ${repo}`, async () => {
        const tag = await this.#store.get<TagRecord>(meta.tag(repo, reference));
        if (!tag) throw unknownManifest(repo, reference);
        const made = this.events.make([
          { type: "tag.deleted", tag: reference, digest: tag.value.digest },
        ]);
        const done = await this.#store.commit([{ key: tag.key, version: tag.version }], [
          { type: "delete", key: tag.key },
          { type: "delete", key: meta.tagged(repo, tag.value.digest, reference) },
          ...tagTimeMutations(repo, reference, tag.value, null),
          ...this.events.mutations(made),
        ]);
        if (done !== null) this.events.notify(made);
        return done;
      });
      return;
    }
    // A commit has at most 100 checks (one per tag): a manifest with more tags loses them
    // in batches first, and the manifest goes with the last batch.
    let more = true;
    while (more) {
      more = await retryCommit(`manifest ${digest.value} of ${repo}`, async () => {
        const link = await this.#store.get<ManifestRecord>(meta.manifest(repo, digest.value));
        if (!link) throw unknownManifest(repo, reference);
        const checks: Check[] = [{ key: link.key, version: link.version }];
        const mutations: Mutation[] = [];
        /** Tag index entries of the tags removed (not counted in the batch size). */
        const index: Mutation[] = [];
        const inputs: EventInput[] = [];
        let batchFull = false;
        for await (const entry of this.#store.list(meta.taggedAll(repo, digest.value))) {
          if (inputs.length >= TAGS_PER_DELETE_COMMIT || mutations.length >= 200) {
            batchFull = true;
            break;
          }
          const tag = entry.key[3];
          const current = await this.#store.get<TagRecord>(meta.tag(repo, tag));
          if (current?.value.digest === digest.value) {
            checks.push({ key: current.key, version: current.version });
            mutations.push({ type: "delete", key: current.key });
            index.push(...tagTimeMutations(repo, tag, current.value, null));
            inputs.push({ type: "tag.deleted", tag, digest: digest.value });
          }
          mutations.push({ type: "delete", key: entry.key });
        }
        if (!batchFull) {
          mutations.push({ type: "delete", key: link.key });
          mutations.push(...await signatureDeletions(this.#store, repo, digest.value));
          for (let i = 0; i < (link.value.refParts ?? 0); i++) {
            mutations.push({ type: "delete", key: meta.manifestRefs(repo, digest.value, i) });
          }
          if (link.value.subject) {
            mutations.push({
              type: "delete",
              key: meta.referrer(repo, link.value.subject, digest.value),
            });
          }
          inputs.push({ type: "manifest.deleted", digest: digest.value });
        }
        const made = this.events.make(inputs);
        const done = await this.#store.commit(checks, [
          ...mutations,
          ...index,
          ...this.events.mutations(made),
        ]);
        if (done === null) return null;
        this.events.notify(made);
        return batchFull;
      });
    }
  }

  /**
   * The manifest a reference names. A reference that is neither a digest nor a valid
   * tag names nothing: `MANIFEST_UNKNOWN`, as the specification has it for GET and HEAD.
   */
  async #resolve(reference: string): Promise<Resolved> {
    const byDigest = referenceDigest(reference);
    let digest = byDigest;
    if (!digest) {
      if (!isValidTag(reference)) throw unknownManifest(this.repo, reference);
      const tag = await this.#store.get<TagRecord>(meta.tag(this.repo, reference));
      digest = tag ? tryParseDigest(tag.value.digest) : null;
      if (!digest) throw unknownManifest(this.repo, reference);
    }
    const link = await this.#store.get<ManifestRecord>(meta.manifest(this.repo, digest.value));
    if (!link) throw unknownManifest(this.repo, reference);
    const found: Resolved = { ...link.value, digest };
    if (!byDigest) found.tag = reference;
    return found;
  }

  #checkAccept(found: Resolved, reference: string, request: ManifestRequest): void {
    if (this.manifests.formats.accepts(request.accept, found.mediaType)) return;
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `Manifest ${reference} is ${found.mediaType}, which the Accept header does not list`,
      { detail: { mediaType: found.mediaType } },
    );
  }

  /** Every blob and child manifest referenced must be in the repository. */
  async #verifyReferences(parsed: ParsedManifest): Promise<void> {
    const repo = this.repo;
    const blobLinks = await getAll<BlobRecord>(
      this.#store,
      parsed.blobs.map((d) => meta.layer(repo, d.digest)),
    );
    parsed.blobs.forEach((d, i) => {
      const link = blobLinks[i];
      if (!link) {
        throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `Blob ${d.digest} is unknown to ${repo}`, {
          detail: { digest: d.digest },
        });
      }
      if (!parsed.sizeless && link.value.size !== d.size) {
        throw new RegistryError(
          "MANIFEST_INVALID",
          `Descriptor of ${d.digest} says ${d.size} bytes; the blob has ${link.value.size}`,
          { detail: { digest: d.digest, size: d.size, actual: link.value.size } },
        );
      }
    });
    const children = await getAll<ManifestRecord>(
      this.#store,
      parsed.manifests.map((d) => meta.manifest(repo, d.digest)),
    );
    parsed.manifests.forEach((d, i) => {
      const child = children[i];
      if (!child) {
        throw new RegistryError("MANIFEST_UNKNOWN", `Manifest ${d.digest} is unknown to ${repo}`, {
          referenced: true,
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

/** The references of a manifest link, wherever they are recorded; null when not recorded. */
export async function manifestRefs(
  store: MetadataStore,
  repo: string,
  digest: string,
  record: ManifestRecord,
): Promise<ManifestRefs | null> {
  if (record.refs) return record.refs;
  if (!record.refParts) return null;
  const out: ManifestRefs = { blobs: [], manifests: [] };
  for await (const part of store.list<ManifestRefs>(meta.manifestRefsAll(repo, digest))) {
    out.blobs.push(...part.value.blobs);
    out.manifests.push(...part.value.manifests);
  }
  return out;
}

/**
 * `refs` cut into records of at most {@linkcode MAX_RECORD_REFS} bytes of JSON; empty
 * when they fit in the manifest record itself.
 */
function splitRefs(refs: ManifestRefs): ManifestRefs[] {
  const size = (r: ManifestRefs) => JSON.stringify(r).length;
  if (size(refs) <= MAX_RECORD_REFS) return [];
  const parts: ManifestRefs[] = [];
  let part: ManifestRefs = { blobs: [], manifests: [] };
  let bytes = 32;
  const add = (kind: "blobs" | "manifests", digest: string) => {
    if (bytes + digest.length + 3 > MAX_RECORD_REFS) {
      parts.push(part);
      part = { blobs: [], manifests: [] };
      bytes = 32;
    }
    part[kind].push(digest);
    bytes += digest.length + 3;
  };
  refs.blobs.forEach((d) => add("blobs", d));
  refs.manifests.forEach((d) => add("manifests", d));
  parts.push(part);
  return parts;
}

function info(found: Resolved): ManifestInfo {
  const out: ManifestInfo = { digest: found.digest, size: found.size, mediaType: found.mediaType };
  if (found.subject) out.subject = found.subject;
  if (found.created) out.created = found.created;
  return out;
}

/**
 * The digest a reference names, or null for a tag. A tag cannot hold a colon, so anything
 * with one is a digest, and a malformed one is `DIGEST_INVALID`, not `TAG_INVALID`.
 */
function referenceDigest(reference: string): Digest | null {
  return reference.includes(":") ? parseDigest(reference) : null;
}

function unknownManifest(repo: string, reference: string): RegistryError {
  return new RegistryError(
    "MANIFEST_UNKNOWN",
    `Manifest ${reference.slice(0, 200)} is unknown to ${repo}`,
    { detail: { reference: reference.slice(0, 200) } },
  );
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
