/**
 * @module
 * The content-addressable blob store and the repository links that expose it. Bytes
 * live once under their digest; a repository "has" a blob only through a link record,
 * and only while its bytes are whole: where the driver can check that cheaply (a local
 * `stat`), a blob whose bytes are missing or cut short is reported absent, so clients
 * upload it again and the verified re-push repairs it.
 */
import type { BlobDriver, ByteRange } from "../../drivers/blob/types.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { retryCommit } from "./atomic.ts";
import type { EventInput, Events } from "./events.ts";
import { blobKey, meta } from "./keys.ts";
import type { BlobRecord } from "./records.ts";
import type { BlobInfo, BlobService, ReadOptions } from "./repository.ts";

/** A blob as the store knows it: the facade's view plus where its bytes are. */
export interface StoredBlob extends BlobInfo {
  /** Driver key when not the canonical one. */
  key?: string;
}

/** Registry-wide blob bytes and records, shared by every repository. */
export class BlobStore {
  constructor(readonly driver: BlobDriver, readonly store: MetadataStore) {}

  /** The driver key a blob's bytes live under. */
  keyOf(blob: { digest: Digest; key?: string }): string {
    return blob.key ?? blobKey(blob.digest);
  }

  /** The record of verified bytes of `digest`, if any. */
  async record(digest: Digest): Promise<BlobRecord | null> {
    return (await this.store.get<BlobRecord>(meta.blob(digest.value)))?.value ?? null;
  }

  /**
   * True when the bytes of `blob` are stored and of its size. Where `stat` is not cheap
   * (object stores) the answer is true unless `force` asks the backend.
   */
  async whole(blob: { digest: Digest; size: number; key?: string }, force = false) {
    if (!this.driver.cheapStat && !force) return true;
    const stat = await this.driver.stat(this.keyOf(blob));
    return stat !== null && stat.size === blob.size;
  }

  /**
   * The blob as `repo` sees it: linked (as a layer or a manifest) and, unless `verify` is
   * false (the bytes are about to be read, and `open` checks their size), whole.
   */
  async stat(repo: string, digest: Digest, verify = true): Promise<StoredBlob | null> {
    const [layer, manifest] = await this.store.getMany<BlobRecord>([
      meta.layer(repo, digest.value),
      meta.manifest(repo, digest.value),
    ]);
    const link = layer ?? manifest;
    if (!link) return null;
    const blob: StoredBlob = { digest, size: link.value.size, key: link.value.key };
    return !verify || await this.whole(blob) ? blob : null;
  }

  /** Streams a blob's bytes (or one range); `BLOB_UNKNOWN` if they are gone or cut short. */
  async open(blob: StoredBlob, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.driver.read(this.keyOf(blob), range, { size: blob.size });
    if (!stream) {
      throw new RegistryError(
        "BLOB_UNKNOWN",
        `The bytes of blob ${blob.digest.value} are missing; push it again`,
        { detail: { digest: blob.digest.value } },
      );
    }
    return stream;
  }

  /** Mutations that record verified bytes and link them into `repo`. */
  linkMutations(repo: string, digest: string, record: BlobRecord, now: number): Mutation[] {
    const value: BlobRecord = record.key
      ? { size: record.size, key: record.key, created: record.created ?? now }
      : { size: record.size, created: record.created ?? now };
    return [
      { type: "set", key: meta.blob(digest), value },
      { type: "set", key: meta.layer(repo, digest), value: { ...value, created: now } },
      { type: "set", key: meta.linked(digest, repo), value: {} },
      { type: "set", key: meta.repo(repo), value: { created: now } },
    ];
  }

  /**
   * Links verified bytes into `repo` (after an upload was published, or for a mount),
   * committing `also` and the events' outbox mutations in the same transaction.
   */
  async link(
    repo: string,
    digest: string,
    record: BlobRecord,
    events: Events,
    inputs: readonly EventInput[],
    also: Mutation[] = [],
  ): Promise<void> {
    const made = events.make(inputs);
    const done = await this.store.commit([], [
      ...this.linkMutations(repo, digest, record, Date.now()),
      ...also,
      ...events.mutations(made),
    ]);
    if (done === null) throw new Error(`Linking ${digest} into ${repo} did not commit`);
    events.notify(made);
  }

  /** Repositories that link `digest`, in name order. */
  async *linkedFrom(digest: string): AsyncIterable<string> {
    for await (const entry of this.store.list(meta.linkedAll(digest))) {
      yield entry.key[2];
    }
  }
}

/** {@linkcode BlobService} of one repository over the shared {@linkcode BlobStore}. */
export class RepositoryBlobs implements BlobService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly repo: string,
    private readonly events: Events,
  ) {}

  stat(digest: Digest, options: { verify?: boolean } = {}): Promise<StoredBlob | null> {
    return this.blobs.stat(this.repo, digest, options.verify ?? true);
  }

  async require(digest: Digest, options: { verify?: boolean } = {}): Promise<StoredBlob> {
    const info = await this.stat(digest, options);
    if (!info) throw unknownBlob(this.repo, digest);
    return info;
  }

  async open(
    blob: StoredBlob,
    range?: ByteRange,
    options: ReadOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.blobs.open(blob, range);
    if (!options.quiet) {
      this.events.pulled({ type: "blob.pulled", digest: blob.digest.value, size: blob.size });
    }
    return stream;
  }

  async redirectUrl(blob: StoredBlob, ttlSeconds: number): Promise<string | null> {
    const { driver } = this.blobs;
    if (!driver.signedUrl) return null;
    const url = await driver.signedUrl(this.blobs.keyOf(blob), ttlSeconds);
    this.events.pulled({ type: "blob.pulled", digest: blob.digest.value, size: blob.size });
    return url;
  }

  async delete(digest: Digest): Promise<void> {
    const { store } = this.blobs;
    await retryCommit(`blob ${digest.value} of ${this.repo}`, async () => {
      const link = await store.get(meta.layer(this.repo, digest.value));
      if (!link) throw unknownBlob(this.repo, digest);
      const made = this.events.make([{ type: "blob.deleted", digest: digest.value }]);
      const done = await store.commit([{ key: link.key, version: link.version }], [
        { type: "delete", key: meta.layer(this.repo, digest.value) },
        { type: "delete", key: meta.linked(digest.value, this.repo) },
        ...this.events.mutations(made),
      ]);
      if (done !== null) this.events.notify(made);
      return done;
    });
  }

  async mount(
    digest: Digest,
    from: string | null,
    canRead: (repo: string) => Promise<boolean>,
  ): Promise<StoredBlob | null> {
    let source: StoredBlob | null = null;
    let sourceRepo = from;
    if (from !== null) {
      if (await canRead(from)) source = await this.blobs.stat(from, digest);
    } else {
      for await (const candidate of this.blobs.linkedFrom(digest.value)) {
        if (candidate !== this.repo && await canRead(candidate)) {
          source = await this.blobs.stat(candidate, digest);
          sourceRepo = candidate;
          if (source) break;
        }
      }
    }
    if (!source || sourceRepo === null) return null;
    const record = await this.blobs.record(digest);
    await this.blobs.link(
      this.repo,
      digest.value,
      { size: source.size, key: source.key, created: record?.created },
      this.events,
      [{ type: "blob.mounted", digest: digest.value, size: source.size, from: sourceRepo }],
    );
    return source;
  }
}

/** `BLOB_UNKNOWN` for `digest` in `repo`. */
export function unknownBlob(repo: string, digest: Digest): RegistryError {
  return new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown to ${repo}`, {
    detail: { digest: digest.value },
  });
}
