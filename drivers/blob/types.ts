/**
 * @module
 * The byte-storage seam. A {@linkcode BlobDriver} stores opaque objects under keys
 * computed by `src/registry/keys.ts`; it knows nothing of digests, repositories or
 * manifests. Every implementation runs `tests/drivers/blob_driver_suite.ts`.
 *
 * Contract shared by all methods:
 * - Keys are `/`-separated relative paths of safe characters (`[A-Za-z0-9._-]` segments).
 * - Nothing is visible under a key until it is whole: `write` and `uploads.publish`
 *   publish atomically (temporary object plus rename, or the object store's own commit).
 * - Failures a caller can act on are the typed errors of `drivers/errors.ts`:
 *   `DriverUnavailableError` (backend down: 503), `DriverFullError` (no space: 507),
 *   `DriverNotFoundError` (an upload or object named by the caller is gone) and
 *   `DriverRangeError` (a read past the end). Anything else is unexpected (`UNKNOWN`).
 */

/** An inclusive byte range; `end` omitted means "to the end of the object". */
export interface ByteRange {
  start: number;
  end?: number;
}

/** What `stat` knows about a stored object. */
export interface BlobStat {
  size: number;
  /** When the object was last written, in milliseconds since the epoch. */
  modified: number;
}

/** One object of a listing. */
export interface BlobEntry extends BlobStat {
  key: string;
}

export {
  DriverFullError,
  DriverNotFoundError,
  DriverRangeError,
  DriverUnavailableError,
} from "../errors.ts";

/**
 * Opaque, JSON-serialisable state of an unfinished upload. The registry stores it in the
 * upload session (metadata store, so it must stay well under 64 KiB) and hands it back
 * on every later call, possibly in another process.
 */
export type UploadRef = Record<string, unknown>;

/** Resumable uploads: bytes arrive in order, possibly across processes and restarts. */
export interface UploadDriver {
  /**
   * True when the bytes of an unfinished upload can be read back with `read`. The
   * registry uses this to rebuild a digest state after a restart; drivers that cannot
   * (S3 multipart) make the registry persist a portable digest state instead.
   */
  readonly readable: boolean;
  /** Smallest chunk the backend wants per append (for `OCI-Chunk-Min-Length`); 0 for none. */
  readonly minChunkLength: number;
  /** Starts an upload identified by `id` (unique, key-safe). */
  create(id: string): Promise<UploadRef>;
  /**
   * Writes `body` so that it starts at byte `offset` of the upload, discarding anything
   * previously stored at or beyond `offset`. The registry calls this for one writer of
   * an upload at a time (it holds a lease), but a driver must still never let a stale
   * writer corrupt bytes below `offset`. Returns the updated ref and the bytes written.
   * If the body stream errors, the error propagates and the upload stays usable from
   * `offset`. Throws {@linkcode DriverNotFoundError} when the upload is gone (published,
   * aborted or purged) or holds fewer than `offset` bytes.
   */
  append(
    ref: UploadRef,
    offset: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<{ ref: UploadRef; written: number }>;
  /**
   * Reads bytes `[0, end)` of an unfinished upload. Only when `readable` is true.
   * Throws {@linkcode DriverNotFoundError} when the upload (or `end` of its bytes) is gone.
   */
  read(ref: UploadRef, end: number): Promise<ReadableStream<Uint8Array>>;
  /**
   * Atomically publishes exactly the first `size` bytes of the upload and releases the
   * upload. Returns the key the bytes now live under: `key` where the backend can move
   * objects without copying them (a rename), or a key of the driver's choosing where it
   * cannot (S3 completes a multipart upload in place; copying a 6 GiB layer again at
   * commit is what this avoids). The registry records the returned key. Publishing onto
   * an existing `key` replaces it (keys are content addresses: the new bytes are verified,
   * the old ones may be missing or cut short). Throws {@linkcode DriverNotFoundError}
   * when the upload is gone and `key` does not already hold `size` bytes.
   */
  publish(ref: UploadRef, size: number, key: string): Promise<string>;
  /** Discards an upload. Idempotent. */
  abort(ref: UploadRef): Promise<void>;
  /**
   * Optional: every unfinished upload the backend holds, with the ref that aborts it and
   * when it was last written (milliseconds since the epoch), for purging abandoned ones.
   * Absent where the backend has its own expiry (S3 lifecycle rules).
   */
  list?(): AsyncIterable<{ id: string; ref: UploadRef; modified: number }>;
}

/** Bytes only. Keys come from the key mapper. */
export interface BlobDriver {
  /** Driver name for logs and `/healthz` (`memory`, `filesystem`, `s3`). */
  readonly name: string;
  /** Size and modified time of the object at `key`, or null when there is none. */
  stat(key: string): Promise<BlobStat | null>;
  /**
   * True when `stat` is cheap enough to call on every blob read (a local `stat(2)`), so
   * the registry can check that bytes are whole before it says a blob exists. False for
   * object stores, where it is a round trip.
   */
  readonly cheapStat: boolean;
  /**
   * Streams the object at `key` (or one inclusive range of it), or null when there is
   * none, or when `expect.size` is given and the object has another size (bytes cut short
   * count as missing; the check costs nothing extra where the size comes with the open).
   * Throws {@linkcode DriverRangeError} when `range.start` is not below the size.
   */
  read(
    key: string,
    range?: ByteRange,
    expect?: { size: number },
  ): Promise<ReadableStream<Uint8Array> | null>;
  /** Stores `body` at `key`, published atomically once the stream ends. */
  write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }>;
  /** Removes the object at `key`; true when something was removed. Idempotent. */
  delete(key: string): Promise<boolean>;
  /**
   * Every object under `prefix` (a folder-like prefix ending in `/`), with its size and
   * modified time, in no set order. Objects written or removed during the walk may or
   * may not be seen.
   */
  list(prefix: string): AsyncIterable<BlobEntry>;
  /** Resumable uploads. */
  readonly uploads: UploadDriver;
  /** Throws when the backend is not usable; used by `/healthz`. */
  health(): Promise<void>;
  /**
   * Optional: a URL a client can GET the object from directly for `ttlSeconds`
   * (storage redirects). Absent when the backend has no such URLs.
   */
  signedUrl?(key: string, ttlSeconds: number): Promise<string>;
  /** Releases resources (timers, handles). */
  close?(): Promise<void>;
}
