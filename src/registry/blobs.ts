/**
 * @module
 * The content-addressable blob store and the repository links that expose it. Bytes
 * live once under their digest; a repository "has" a blob only through a link record.
 */
import type { BlobDriver, ByteRange } from "../../drivers/blob/types.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { blobKey, meta } from "./keys.ts";

/**
 * The record that says verified bytes of a digest exist; repository links carry the same
 * fields. `key` is set only when the bytes are not at the canonical `blobKey(digest)`
 * (drivers that publish in place, see `UploadDriver.publish`).
 */
export interface BlobRecord {
  size: number;
  key?: string;
}

/** A readable blob as a repository sees it. */
export interface BlobInfo {
  digest: Digest;
  size: number;
  key?: string;
}

/** Blob bytes plus repository links. */
export class Blobs {
  constructor(private readonly driver: BlobDriver, private readonly store: MetadataStore) {}

  /** The blob as `repo` sees it, or null when the repository has no link to it. */
  async stat(repo: string, digest: Digest): Promise<BlobInfo | null> {
    const [layer, manifest] = await this.store.getMany<BlobRecord>([
      meta.layer(repo, digest.value),
      meta.manifest(repo, digest.value),
    ]);
    const link = layer ?? manifest;
    return link ? { digest, size: link.value.size, key: link.value.key } : null;
  }

  /** Like {@linkcode stat}, but `BLOB_UNKNOWN` when the repository has no such blob. */
  async require(repo: string, digest: Digest): Promise<BlobInfo> {
    const info = await this.stat(repo, digest);
    if (!info) {
      throw new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown to ${repo}`, {
        detail: { digest: digest.value },
      });
    }
    return info;
  }

  /** The driver key a blob's bytes live under. */
  keyOf(blob: BlobInfo): string {
    return blob.key ?? blobKey(blob.digest);
  }

  /** Streams a blob's bytes (or one range); `BLOB_UNKNOWN` if the bytes are gone. */
  async open(blob: BlobInfo, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const { digest } = blob;
    const stream = await this.driver.read(this.keyOf(blob), range);
    if (!stream) {
      throw new RegistryError("BLOB_UNKNOWN", `The bytes of blob ${digest.value} are missing`, {
        detail: { digest: digest.value },
      });
    }
    return stream;
  }

  /** Whether verified bytes of `digest` exist anywhere in the store. */
  async exists(digest: Digest): Promise<BlobRecord | null> {
    return (await this.store.get<BlobRecord>(meta.blob(digest.value)))?.value ?? null;
  }

  /** Mutations that record verified bytes and link them into `repo`. */
  #linkMutations(repo: string, digest: string, record: BlobRecord): Mutation[] {
    const value: BlobRecord = record.key
      ? { size: record.size, key: record.key }
      : { size: record.size };
    return [
      { type: "set", key: meta.blob(digest), value },
      { type: "set", key: meta.layer(repo, digest), value },
      { type: "set", key: meta.linked(digest, repo), value: {} },
      { type: "set", key: meta.repo(repo), value: {} },
    ];
  }

  /**
   * Links verified bytes into `repo` (after an upload was published, or for a mount),
   * committing `also` in the same transaction.
   */
  async link(repo: string, digest: string, record: BlobRecord, also: Mutation[] = []) {
    const done = await this.store.commit([], [
      ...this.#linkMutations(repo, digest, record),
      ...also,
    ]);
    if (done === null) throw new Error(`Linking ${digest} into ${repo} did not commit`);
  }

  /** Removes `repo`'s link to a blob; the bytes stay for garbage collection. */
  async unlink(repo: string, digest: Digest): Promise<void> {
    const link = await this.store.get(meta.layer(repo, digest.value));
    if (!link) {
      throw new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown to ${repo}`, {
        detail: { digest: digest.value },
      });
    }
    await this.store.commit([], [
      { type: "delete", key: meta.layer(repo, digest.value) },
      { type: "delete", key: meta.linked(digest.value, repo) },
    ]);
  }

  /**
   * Repositories that link `digest`, in name order; `canRead` filters them (access
   * control), so a mount without `from` only finds blobs the caller may pull.
   */
  async *linkedFrom(digest: string): AsyncIterable<string> {
    for await (const entry of this.store.list(meta.linkedAll(digest))) {
      yield entry.key[2];
    }
  }

  /**
   * Cross-repository mount: links the blob into `repo` when `from` has it (or, without
   * `from`, when some repository `canRead` accepts has it). Null when it cannot.
   */
  async mount(
    repo: string,
    digest: Digest,
    from: string | null,
    canRead: (repo: string) => Promise<boolean>,
  ): Promise<BlobInfo | null> {
    let source: BlobInfo | null = null;
    if (from !== null) {
      if (await canRead(from)) source = await this.stat(from, digest);
    } else {
      for await (const candidate of this.linkedFrom(digest.value)) {
        if (candidate !== repo && await canRead(candidate)) {
          source = await this.stat(candidate, digest);
          if (source) break;
        }
      }
    }
    if (!source) return null;
    await this.link(repo, digest.value, source);
    return source;
  }
}
