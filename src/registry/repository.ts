/**
 * @module
 * The registry facade: the interfaces handlers reach storage through, and nothing else.
 *
 * `registry.repository(name, context)` returns the services of one repository (blobs,
 * uploads, manifests, tags, referrers) for one caller; `registry.catalog` and
 * `registry.health` cover the rest. A pull-through mirror, metrics or access decorators
 * wrap these interfaces (a decorator implements the same interface around an inner one),
 * so nothing above the facade knows they exist. No method here takes or returns a driver
 * key, a metadata key or an HTTP type.
 */
import type { ByteRange } from "../../drivers/blob/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifests/types.ts";
import type { RequestContext } from "./events.ts";

export type { RequestContext } from "./events.ts";

/** One page of names (tags, repositories). */
export interface Page {
  items: string[];
  /** True when more items follow the last one returned. */
  more: boolean;
  /** True when served from a cache because its source could not be reached. */
  stale?: boolean;
}

/** A blob as a repository sees it. */
export interface BlobInfo {
  digest: Digest;
  size: number;
}

/** Where an upload session stands. */
export interface UploadStatus {
  id: string;
  repository: string;
  /** Bytes stored and acknowledged so far. */
  offset: number;
  /** Milliseconds since the epoch. */
  started: number;
}

/** A chunk of an upload request: its bytes and where the client says they start. */
export interface Chunk {
  body: ReadableStream<Uint8Array> | null;
  /** From `Content-Range` or the upload URL's state; null when the client streams without one. */
  start: number | null;
  /** Exact byte count the client announced (Content-Range or Content-Length), if any. */
  length: number | null;
}

/** A manifest as a repository holds it. */
export interface ManifestInfo {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Digest of the manifest's `subject`, when it has one. */
  subject?: string;
  /** When it was pushed (ms since the epoch), when the record knows. */
  created?: number;
  /** True when served from a cache because its source could not be reached. */
  stale?: boolean;
}

/** A manifest with the bytes to serve. */
export interface ManifestContent extends ManifestInfo {
  bytes: Uint8Array;
}

/** What a manifest PUT did. */
export interface PutManifestResult {
  digest: string;
  subject?: string;
  /** The tags now pointing at the manifest. */
  tags: string[];
}

/** How a manifest is stored. */
export interface PutManifestOptions {
  /**
   * Accept every format Berth can store, whatever `compatibility.schema1.enabled` says:
   * for a mirror storing what its upstream served, not for clients' pushes.
   */
  anyFormat?: boolean;
  /**
   * False when the manifest's blobs and child manifests need not be in the repository yet
   * (a pull-through mirror stores what its upstream serves before its layers are pulled).
   * Default true.
   */
  requireReferences?: boolean;
}

/** How content is read. */
export interface ReadOptions {
  /**
   * A look, not a pull (a web page showing a manifest or an image config): no pull event
   * is recorded, so notifications and pull times see only real pulls.
   */
  quiet?: boolean;
}

/** How a manifest is asked for. */
export interface ManifestRequest extends ReadOptions {
  /** The client's `Accept` header (the media types it can take), if any. */
  accept?: string | null;
}

/** A tag and what it points at. */
export interface TagEntry {
  name: string;
  digest: string;
  /** When the tag was last moved (ms since the epoch; 0 when unknown). */
  updated: number;
}

/** One page of tags, newest first. */
export interface TagTimePage {
  items: TagEntry[];
  /** Cursor of the next page, or null after the last. */
  next: string | null;
}

/** What one repository holds, counted from its records. */
export interface RepositorySummary {
  tags: number;
  manifests: number;
  /** Blobs linked (layers and configs). */
  blobs: number;
  /** Bytes of its manifests and linked blobs, each counted once. */
  bytes: number;
  /** The last push into it (ms since the epoch), when known. */
  lastPush: number | null;
}

/** Storage the registry uses, each blob counted once however many repositories link it. */
export interface StorageUsage {
  blobs: number;
  bytes: number;
}

/** A section of the registry's status page, contributed by a capability (mirrors, GC ...). */
export interface StatusSection {
  title: string;
  items: { label: string; value: string }[];
}

/** Blobs of one repository. */
export interface BlobService {
  /**
   * The blob when the repository links it and its bytes are whole; null otherwise.
   * `verify: false` skips the check of the bytes when they are about to be read anyway
   * (`open` fails with `BLOB_UNKNOWN` on missing or cut-short bytes).
   */
  stat(digest: Digest, options?: { verify?: boolean }): Promise<BlobInfo | null>;
  /** Like {@linkcode stat}, but `BLOB_UNKNOWN` when absent. */
  require(digest: Digest, options?: { verify?: boolean }): Promise<BlobInfo>;
  /**
   * Streams a blob (or one inclusive byte range of it); `BLOB_UNKNOWN` when its bytes are
   * gone. A pull event is recorded unless `options.quiet`.
   */
  open(
    blob: BlobInfo,
    range?: ByteRange,
    options?: ReadOptions,
  ): Promise<ReadableStream<Uint8Array>>;
  /**
   * A URL the client may fetch the bytes from directly for `ttlSeconds` (storage
   * redirects), or null when the backend offers none. A pull event is recorded.
   */
  redirectUrl(blob: BlobInfo, ttlSeconds: number): Promise<string | null>;
  /** Removes the repository's link (bytes go at garbage collection); `BLOB_UNKNOWN` if none. */
  delete(digest: Digest): Promise<void>;
  /**
   * Cross-repository mount: links the blob when `from` has it (or, without `from`, some
   * repository `canRead` accepts). Null when it cannot; the client then uploads.
   */
  mount(
    digest: Digest,
    from: string | null,
    canRead: (repository: string) => Promise<boolean>,
  ): Promise<BlobInfo | null>;
}

/** Upload sessions of one repository. */
export interface UploadService {
  /** Smallest chunk the backend wants (`OCI-Chunk-Min-Length`); 0 for none. */
  readonly minChunkLength: number;
  /** Opens a session. */
  start(): Promise<UploadStatus>;
  /** Where session `id` stands; `BLOB_UPLOAD_UNKNOWN` when there is none. */
  status(id: string): Promise<UploadStatus>;
  /** Appends a chunk; `RANGE_INVALID` (with the session's offset) when out of order or busy. */
  append(id: string, chunk: Chunk): Promise<UploadStatus>;
  /** Appends the last chunk (if any), verifies `digest` over all bytes and publishes. */
  complete(id: string, digest: Digest, chunk: Chunk): Promise<BlobInfo>;
  /** Cancels a session and discards its bytes. */
  cancel(id: string): Promise<void>;
  /**
   * A whole blob in one request (`POST ?digest=`); no session is kept. `verified` is called
   * once every byte arrived and matched `digest`, before the bytes are published.
   */
  monolithic(
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    options?: { verified?: () => void },
  ): Promise<BlobInfo>;
}

/** Manifests of one repository. */
export interface ManifestService {
  /** Resolves a tag or digest (HEAD); `MANIFEST_UNKNOWN` when absent or not acceptable. */
  stat(reference: string, request?: ManifestRequest): Promise<ManifestInfo>;
  /** The manifest with its bytes (GET); a pull event is recorded unless `request.quiet`. */
  get(reference: string, request?: ManifestRequest): Promise<ManifestContent>;
  /** Tags pointing at manifest `digest`, in lexical order, at most `n`. */
  tagsOf(digest: Digest, n: number): Promise<Page>;
  /** Stores `bytes` under a tag or digest plus `tags`. */
  put(
    reference: string,
    bytes: Uint8Array,
    contentType: string | null,
    tags: readonly string[],
    options?: PutManifestOptions,
  ): Promise<PutManifestResult>;
  /** Deletes by digest (with every tag on it) or a tag alone. */
  delete(reference: string): Promise<void>;
}

/** Tags of one repository. */
export interface TagService {
  /** Tags in lexical order after `last`, at most `n`; `NAME_UNKNOWN` for no repository. */
  list(n: number | null, last: string | null): Promise<Page>;
  /**
   * At most `n` tags with their digests, most recently moved first, after `cursor` (the
   * previous page's `next`); `NAME_UNKNOWN` for no repository.
   */
  recent(n: number, cursor: string | null): Promise<TagTimePage>;
}

/** Referrers of one repository. */
export interface ReferrerService {
  /** Descriptors of the manifests whose subject is `subject`, optionally of one type. */
  list(subject: Digest, artifactType: string | null): Promise<Descriptor[]>;
}

/** One repository as one caller sees it. */
export interface Repository {
  readonly name: string;
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly tags: TagService;
  readonly referrers: ReferrerService;
  /** Counts of what the repository holds (reads all its records: for pages, not hot paths). */
  summary(): Promise<RepositorySummary>;
}

/** The result of a health check of one backend. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  error?: string;
}

/** The registry as handlers see it. */
export interface Registry {
  /** The services of repository `name` (already validated) for the caller `context`. */
  repository(name: string, context: RequestContext): Repository;
  /** Repository names, lexical order, `visible` filtering them without breaking pages. */
  catalog(
    n: number | null,
    last: string | null,
    visible: (repository: string) => Promise<boolean>,
  ): Promise<Page>;
  /** Checks every backend. */
  health(): Promise<HealthCheck[]>;
  /** Names of the backends, for logs (`{ storage: "filesystem", metadata: "kv" }`). */
  describe(): { storage: string; metadata: string };
  /** Storage used, deduplicated (reads every blob record: for status pages, not hot paths). */
  usage?(): Promise<StorageUsage>;
  /**
   * Sections of a status page. The registry itself has none; a capability that wraps the
   * registry (mirrors, notifications, garbage collection) adds its own to the inner ones.
   */
  status?(): Promise<StatusSection[]>;
}
