/**
 * @module
 * Upload sessions: resumable, verified blob uploads that any process sharing the same
 * drivers can continue. The session record (metadata store) holds the offset, the
 * driver's upload state and the digest state; a short lease in the same record lets
 * one request at a time write, so concurrent chunks can never interleave.
 */
import { createHash } from "node:crypto";
import type { BlobDriver, UploadRef } from "../../drivers/blob/types.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { tap } from "../streams/tap.ts";
import type { BlobRecord, Blobs } from "./blobs.ts";
import type { DigestState, RunningHash, UploadHashers } from "./hashing.ts";
import { blobKey, meta } from "./keys.ts";

/** One upload session, as stored. */
export interface UploadSession {
  id: string;
  repo: string;
  /** Bytes stored so far. */
  offset: number;
  /** Milliseconds since the epoch. */
  started: number;
  ref: UploadRef;
  hash: DigestState | null;
  /** The request currently writing, until its lease runs out. */
  writer: { id: string; until: number } | null;
}

/** A chunk of an upload request: its bytes and where the client says they start. */
export interface Chunk {
  body: ReadableStream<Uint8Array> | null;
  /** From `Content-Range`; null when the client streams without one. */
  start: number | null;
  /** Exact byte count the client announced (Content-Range or Content-Length), if any. */
  length: number | null;
}

/** Options of {@linkcode Uploads}. */
export interface UploadsOptions {
  driver: BlobDriver;
  store: MetadataStore;
  blobs: Blobs;
  hashers: UploadHashers;
  /** Save a portable digest state on every request even when live states would do. */
  portable: boolean;
  /** How long an idle session is kept. */
  sessionTtlMs: number;
  /** How long a writer's lease lasts without renewal. */
  leaseMs?: number;
}

/** The result of a finished upload. */
export interface Published {
  digest: string;
  size: number;
}

/** Upload sessions and monolithic uploads. */
export class Uploads {
  readonly #o: Required<UploadsOptions>;

  constructor(options: UploadsOptions) {
    this.#o = { leaseMs: 15_000, ...options };
  }

  /** True when digest states go in the session (the driver cannot read uploads back). */
  get #portable(): boolean {
    return this.#o.portable || !this.#o.driver.uploads.readable;
  }

  /** Minimum chunk size the backend asks for (`OCI-Chunk-Min-Length`). */
  get minChunkLength(): number {
    return this.#o.driver.uploads.minChunkLength;
  }

  /** Opens a session in `repo`. */
  async create(repo: string): Promise<UploadSession> {
    const id = crypto.randomUUID();
    const session: UploadSession = {
      id,
      repo,
      offset: 0,
      started: Date.now(),
      ref: await this.#o.driver.uploads.create(id),
      hash: null,
      writer: null,
    };
    const ok = await this.#o.store.commit([{ key: meta.upload(id), version: null }], [
      this.#put(session),
    ]);
    if (ok === null) throw new Error(`Upload id ${id} collided`);
    return session;
  }

  /** The session `id` of `repo`; `BLOB_UPLOAD_UNKNOWN` when there is none. */
  async get(repo: string, id: string): Promise<UploadSession> {
    return (await this.#load(repo, id)).session;
  }

  /** Appends a chunk; returns the session after it. */
  async append(repo: string, id: string, chunk: Chunk): Promise<UploadSession> {
    const held = await this.#acquire(repo, id, chunk.start);
    let after: UploadSession;
    try {
      after = (await this.#write(held, chunk)).session;
    } catch (err) {
      await this.#release(held, held.session);
      throw err;
    }
    // Never acknowledge bytes whose new offset was not recorded: the client re-syncs.
    if (!await this.#release(held, after)) {
      throw outOfOrder(held.session, held.session.offset, "changed concurrently");
    }
    return after;
  }

  /**
   * Closes a session: appends the last chunk (if any), verifies `digest` over all bytes
   * and publishes the blob in `repo`. A mismatch cancels the upload and publishes nothing.
   */
  async complete(repo: string, id: string, digest: Digest, chunk: Chunk): Promise<Published> {
    const held = await this.#acquire(repo, id, chunk.start);
    let finished = false;
    try {
      const { session, hash } = await this.#write(held, chunk);
      held.session = session;
      const actual = digest.algorithm === "sha256"
        ? hash.hex()
        : await this.#rehash(session, digest.algorithm);
      if (actual !== digest.hex) {
        finished = true;
        await this.#discard(session);
        throw mismatch(digest, `${digest.algorithm}:${actual}`);
      }
      finished = true;
      // The link and the end of the session are one commit.
      await this.#publish(repo, session.ref, digest, session.offset, [
        { type: "delete", key: meta.upload(id) },
      ]);
      this.#o.hashers.forget(id);
      return { digest: digest.value, size: session.offset };
    } finally {
      if (!finished) await this.#release(held, held.session);
    }
  }

  /** Cancels a session and discards its bytes. */
  async cancel(repo: string, id: string): Promise<void> {
    const { session } = await this.#load(repo, id);
    await this.#discard(session);
  }

  /** A whole blob in one request (`POST ?digest=` or a single `PUT`); no session kept. */
  async monolithic(repo: string, digest: Digest, body: ReadableStream<Uint8Array> | null) {
    const id = crypto.randomUUID();
    const uploads = this.#o.driver.uploads;
    const ref = await uploads.create(id);
    try {
      const hash = createHash(digest.algorithm);
      const { ref: after, written } = await uploads.append(ref, 0, hashing(body, hash, null));
      const actual = hash.digest("hex");
      if (actual !== digest.hex) throw mismatch(digest, `${digest.algorithm}:${actual}`);
      await this.#publish(repo, after, digest, written);
      return { digest: digest.value, size: written };
    } catch (err) {
      await uploads.abort(ref).catch(() => {});
      throw err;
    }
  }

  /** Publishes verified bytes (or drops them when already stored) and links them. */
  async #publish(
    repo: string,
    ref: UploadRef,
    digest: Digest,
    size: number,
    alsoCommit: Mutation[] = [],
  ): Promise<void> {
    const existing = await this.#o.blobs.exists(digest);
    let record: BlobRecord;
    if (existing && existing.size === size) {
      await this.#o.driver.uploads.abort(ref); // the same bytes are already stored
      record = existing;
    } else {
      const canonical = blobKey(digest);
      const key = await this.#o.driver.uploads.publish(ref, size, canonical);
      record = key === canonical ? { size } : { size, key };
    }
    await this.#o.blobs.link(repo, digest.value, record, alsoCommit);
  }

  async #load(repo: string, id: string) {
    const found = /^[0-9a-f-]{36}$/.test(id)
      ? await this.#o.store.get<UploadSession>(meta.upload(id))
      : null;
    if (!found || found.value.repo !== repo) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload ${id} is unknown to ${repo}`, {
        detail: { upload: id.slice(0, 100) },
      });
    }
    return { session: found.value, version: found.version };
  }

  /** Takes the writer lease, after checking the client's offset. */
  async #acquire(repo: string, id: string, start: number | null): Promise<Held> {
    const { session, version } = await this.#load(repo, id);
    if (start !== null && start !== session.offset) throw outOfOrder(session, start);
    if (session.writer && session.writer.until > Date.now()) {
      throw new RegistryError(
        "RANGE_INVALID",
        `Another request is writing to upload ${id}; retry from the reported Range`,
        { headers: rangeHeaders(session) },
      );
    }
    const held: Held = { session, version, writer: crypto.randomUUID() };
    const leased = { ...session, writer: { id: held.writer, until: Date.now() + this.#o.leaseMs } };
    const v = await this.#o.store.commit([{ key: meta.upload(id), version }], [this.#put(leased)]);
    if (v === null) throw outOfOrder(session, start ?? session.offset, "changed concurrently");
    held.version = v;
    return held;
  }

  /** Gives the lease back, saving `session`; false when the lease was lost meanwhile. */
  async #release(held: Held, session: UploadSession): Promise<boolean> {
    const next = { ...session, writer: null };
    const v = await this.#o.store.commit(
      [{ key: meta.upload(session.id), version: held.version }],
      [this.#put(next)],
    );
    if (v !== null) held.version = v;
    return v !== null;
  }

  /** Streams a chunk into the driver through the running digest; renews the lease. */
  async #write(held: Held, chunk: Chunk): Promise<{ session: UploadSession; hash: RunningHash }> {
    const { session } = held;
    const uploads = this.#o.driver.uploads;
    let hash: RunningHash;
    try {
      hash = session.offset === 0
        ? await this.#o.hashers.start(session.id, this.#portable)
        : await this.#o.hashers.resume(
          session.id,
          session.offset,
          session.hash,
          uploads.readable ? () => uploads.read(session.ref, session.offset) : null,
        );
    } catch (err) {
      // A crash between publishing an upload's bytes and recording that leaves a session
      // whose bytes are gone: it cannot go on, so it ends (the client starts over).
      if (!isNotFound(err)) throw err;
      await this.#discard(session);
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload ${session.id} has no stored bytes`, {
        detail: { upload: session.id },
      });
    }
    if (!chunk.body || chunk.length === 0) {
      if (chunk.length) throw sizeMismatch(chunk.length, 0);
      return { session, hash };
    }
    // Renewals run one after another, and the last one ends before the lease is given
    // back, so a renewal can never overwrite the final state.
    let renewing = Promise.resolve();
    const timer = setInterval(() => {
      renewing = renewing.then(() => this.#renew(held));
    }, this.#o.leaseMs / 3);
    try {
      const body = hashing(chunk.body, hash, chunk.length);
      const { ref, written } = await uploads.append(session.ref, session.offset, body);
      const offset = session.offset + written;
      return { session: { ...session, ref, offset, hash: hash.save(offset) }, hash };
    } finally {
      clearInterval(timer);
      await renewing;
    }
  }

  async #renew(held: Held): Promise<void> {
    const leased = {
      ...held.session,
      writer: { id: held.writer, until: Date.now() + this.#o.leaseMs },
    };
    const key = meta.upload(held.session.id);
    const v = await this.#o.store.commit([{ key, version: held.version }], [this.#put(leased)])
      .catch(() => null);
    if (v !== null) held.version = v;
  }

  /** Digest of the stored bytes with another algorithm (sha512 uploads). */
  async #rehash(session: UploadSession, algorithm: string): Promise<string> {
    const uploads = this.#o.driver.uploads;
    if (!uploads.readable) {
      await this.#discard(session);
      throw new RegistryError(
        "DIGEST_INVALID",
        `Chunked ${algorithm} uploads need a storage driver that can read uploads back; ` +
          `upload the blob in one request (POST ?digest=) instead`,
      );
    }
    const hash = createHash(algorithm);
    for await (const part of await uploads.read(session.ref, session.offset)) hash.update(part);
    return hash.digest("hex");
  }

  async #discard(session: UploadSession): Promise<void> {
    await this.#o.store.commit([], [{ type: "delete", key: meta.upload(session.id) }]);
    this.#o.hashers.forget(session.id);
    await this.#o.driver.uploads.abort(session.ref);
  }

  #put(session: UploadSession) {
    return {
      type: "set" as const,
      key: meta.upload(session.id),
      value: session,
      expireInMs: this.#o.sessionTtlMs,
    };
  }
}

interface Held {
  session: UploadSession;
  version: string;
  writer: string;
}

/** True when `err` (or its cause) says a file or object is missing. */
function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound ||
    (err instanceof Error && err.cause instanceof Deno.errors.NotFound);
}

/** `Range` header value for a session (`0-<last byte>`, `0-0` when empty). */
export function rangeHeaders(session: UploadSession): Record<string, string> {
  return { Range: `0-${Math.max(0, session.offset - 1)}` };
}

function outOfOrder(session: UploadSession, start: number, why?: string): RegistryError {
  return new RegistryError(
    "RANGE_INVALID",
    why
      ? `Upload ${session.id} ${why}; retry from the reported Range`
      : `Chunk starts at ${start} but upload ${session.id} holds ${session.offset} bytes`,
    { headers: rangeHeaders(session), detail: { offset: session.offset } },
  );
}

function mismatch(digest: Digest, actual: string): RegistryError {
  return new RegistryError(
    "DIGEST_INVALID",
    `The uploaded content has digest ${actual}, not ${digest.value}`,
    { detail: { expected: digest.value, actual } },
  );
}

function sizeMismatch(expected: number, got: number): RegistryError {
  return new RegistryError(
    "SIZE_INVALID",
    `The request announced ${expected} bytes but carried ${got}`,
    { detail: { expected, received: got } },
  );
}

/** Passes `body` through, hashing it and enforcing the announced length. */
function hashing(
  body: ReadableStream<Uint8Array> | null,
  hash: { update(chunk: Uint8Array): unknown },
  length: number | null,
): ReadableStream<Uint8Array> {
  let seen = 0;
  const source = body ?? new ReadableStream({ start: (c) => c.close() });
  // A byte-stream tap: the driver's own buffer is filled straight from the request body.
  return tap(source, {
    chunk(chunk) {
      seen += chunk.byteLength;
      if (length !== null && seen > length) throw sizeMismatch(length, seen);
      hash.update(chunk);
    },
    end() {
      if (length !== null && seen !== length) throw sizeMismatch(length, seen);
    },
  });
}
