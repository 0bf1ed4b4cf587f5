/**
 * @module
 * Upload sessions: resumable, verified blob uploads that any process sharing the same
 * drivers can continue. The session record (metadata store) holds the offset, the
 * driver's upload state and the digest state; a short lease in the same record lets
 * one request at a time write, so concurrent chunks can never interleave. A lease whose
 * holder's process is gone (its heartbeat, see `instances.ts`) ends at once, so a client
 * resuming after a crash is not kept waiting for the lease to run out.
 */
import { createHash } from "node:crypto";
import { type BlobDriver, DriverNotFoundError, type UploadRef } from "../../drivers/blob/types.ts";
import type { Check, MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { retryCommit } from "./atomic.ts";
import type { BlobStore, StoredBlob } from "./blobs.ts";
import { CLAIM_MS, type Holder } from "./blob_states.ts";
import type { Events } from "./events.ts";
import { tap } from "../streams/tap.ts";
import type { DigestState, RunningHash, UploadHashers } from "./hashing.ts";
import type { Instances, Lifetime } from "./instances.ts";
import { blobKey, meta } from "./keys.ts";
import type { Chunk, UploadService, UploadStatus } from "./repository.ts";

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
  writer: ({ id: string; until: number } & Partial<Lifetime>) | null;
}

/** Options of {@linkcode Uploads}. */
export interface UploadsOptions {
  driver: BlobDriver;
  store: MetadataStore;
  blobs: BlobStore;
  hashers: UploadHashers;
  /** This process (writers record it in their lease) and the heartbeats of the others. */
  instances: Instances;
  /** Save a portable digest state on every request even when live states would do. */
  portable: boolean;
  /** How long an idle session is kept. */
  sessionTtlMs: number;
  /** How long a writer's lease lasts without renewal. */
  leaseMs?: number;
}

/** Seconds a client is asked to wait before retrying a session another request is writing. */
const BUSY_RETRY_SECONDS = 1;

/** Writers of this process remembered as finished when giving their lease back failed. */
const MAX_ENDED_WRITERS = 1024;

/** Upload sessions and monolithic uploads, registry-wide. */
export class Uploads {
  readonly #o: Required<UploadsOptions>;
  /**
   * Leases this process's requests could not give back (the store failed at the end of a
   * request): their writers are gone, so the session need not wait for the lease to run
   * out before the client resumes.
   */
  readonly #ended = new Set<string>();

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
    const held = await this.#acquire(repo, id, chunk);
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
  async complete(
    repo: string,
    id: string,
    digest: Digest,
    chunk: Chunk,
    events: Events,
  ): Promise<StoredBlob> {
    const held = await this.#acquire(repo, id, chunk);
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
      // The link and the end of the session are one commit, which checks that the session
      // is still this one: while it is, the collector leaves its bytes alone.
      const guard = { id, version: held.version };
      const blob = await this.#publish(repo, session.ref, digest, session.offset, events, guard, [
        { type: "delete", key: meta.upload(id) },
      ]).catch(async (err) => {
        if (!(err instanceof DriverNotFoundError)) throw err;
        await this.#discard(session);
        throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload ${id} has no stored bytes`, {
          detail: { upload: id },
          cause: err,
        });
      });
      this.#o.hashers.forget(id);
      return blob;
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
  async monolithic(
    repo: string,
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    events: Events,
    verified?: () => void,
  ): Promise<StoredBlob> {
    const id = crypto.randomUUID();
    const uploads = this.#o.driver.uploads;
    const ref = await uploads.create(id);
    try {
      const hash = createHash(digest.algorithm);
      const { ref: after, written } = await uploads.append(ref, 0, hashing(body, hash, null));
      const actual = hash.digest("hex");
      if (actual !== digest.hex) throw mismatch(digest, `${digest.algorithm}:${actual}`);
      verified?.();
      return await this.#publish(repo, after, digest, written, events, { id, version: null });
    } catch (err) {
      await uploads.abort(ref).catch(() => {});
      throw err;
    }
  }

  /**
   * Publishes verified bytes and links them. When the same digest is already stored
   * whole, the new bytes are dropped (only once the link that relies on the stored ones
   * has committed); when its record is there but its bytes are missing or cut short (a
   * lost file), the new bytes replace them.
   *
   * The bytes are published under this upload's claim on the digest and recorded by a
   * commit that checks the blob record (see `BlobStore.hold`) and `guard`: the session
   * (still the one this request holds), or for a monolithic upload (`version` null) the
   * marker its claim writes in the session's place. The collector never deletes bytes of
   * a claimed digest, nor bytes at an upload's own key while its session or marker exists.
   */
  async #publish(
    repo: string,
    ref: UploadRef,
    digest: Digest,
    size: number,
    events: Events,
    guard: { id: string; version: string | null },
    alsoCommit: Mutation[] = [],
  ): Promise<StoredBlob> {
    const { blobs, driver } = this.#o;
    const holder: Holder = { id: guard.id, key: null };
    const monolithic = guard.version === null;
    const marker: Mutation[] = monolithic
      ? [{
        type: "set",
        key: meta.upload(guard.id),
        value: { repo, monolithic: true },
        expireInMs: CLAIM_MS,
      }]
      : [];
    const canonical = blobKey(digest);
    try {
      const record = await retryCommit(`blob ${digest.value} of ${repo}`, async () => {
        const held = await blobs.hold(
          digest,
          size,
          holder,
          () => driver.uploads.publish(ref, size, canonical),
          { rewrite: false, claimAlso: marker },
        );
        const ours = holder.key !== null &&
          blobs.keyOf({ digest, key: held.value.key }) === holder.key;
        const checks: Check[] = [];
        if (!monolithic) checks.push({ key: meta.upload(guard.id), version: guard.version });
        else if (ours) checks.push({ key: meta.upload(guard.id), version: holder.claimed! });
        const ended: Mutation[] = monolithic && holder.claimed
          ? [{ type: "delete", key: meta.upload(guard.id) }]
          : [];
        const done = await blobs.link(
          repo,
          digest.value,
          held,
          events,
          [{ type: "blob.pushed", digest: digest.value, size }],
          [...alsoCommit, ...ended],
          checks,
        );
        if (done) return held.value;
        if (!monolithic) {
          // A session whose lease another request took over is still this upload's; one
          // cancelled meanwhile is not, and its bytes must not be recorded.
          const session = await this.#o.store.get(meta.upload(guard.id));
          if (!session) throw new DriverNotFoundError(`Upload ${guard.id} ended meanwhile`);
          guard.version = session.version;
        }
        return null;
      });
      // Only now, with the link committed, are this upload's own bytes dropped when the
      // record names others (the same digest stored before or by a concurrent push).
      if (holder.key === null) await driver.uploads.abort(ref);
      else if (holder.key !== blobs.keyOf({ digest, key: record.key })) {
        await driver.delete(holder.key).catch(() => {});
      }
      return { digest, size, key: record.key };
    } catch (err) {
      await blobs.release(digest, holder).catch(() => {});
      throw err;
    }
  }

  async #load(repo: string, id: string) {
    const found = /^[0-9a-f-]{36}$/.test(id)
      ? await this.#o.store.get<UploadSession>(meta.upload(id))
      : null;
    // A monolithic upload's marker (see #publish) is no session a client can address.
    if (!found || found.value.repo !== repo || "monolithic" in found.value) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload ${id} is unknown to ${repo}`, {
        detail: { upload: id.slice(0, 100) },
      });
    }
    return { session: found.value, version: found.version };
  }

  /** Takes the writer lease, after checking the client's offset. */
  async #acquire(repo: string, id: string, chunk: Chunk): Promise<Held> {
    const { session, version } = await this.#load(repo, id);
    if (chunk.start !== null && chunk.start !== session.offset) {
      throw outOfOrder(session, chunk.start);
    }
    const writer = session.writer;
    if (
      writer && writer.until > Date.now() && !this.#ended.has(writer.id) &&
      await this.#o.instances.alive(writer)
    ) {
      throw new RegistryError(
        "RANGE_INVALID",
        `Another request is writing to upload ${id}; retry from the reported Range`,
        {
          upload: { id, offset: session.offset },
          retryAfter: BUSY_RETRY_SECONDS,
          detail: { offset: session.offset },
        },
      );
    }
    const held: Held = { session, version, writer: crypto.randomUUID() };
    const v = await this.#o.store.commit([{ key: meta.upload(id), version }], [
      this.#put({ ...session, writer: this.#lease(held) }),
    ]);
    if (v === null) {
      throw outOfOrder(session, chunk.start ?? session.offset, "changed concurrently");
    }
    held.version = v;
    return held;
  }

  /** The lease `held` writes into its session: its id, until when, and this process. */
  #lease(held: Held): UploadSession["writer"] {
    return { id: held.writer, until: Date.now() + this.#o.leaseMs, ...this.#o.instances.self };
  }

  /**
   * Gives the lease back, saving `session`; false when the lease was lost meanwhile. When
   * the store cannot be written, the writer is remembered as ended (see `#ended`) and the
   * store's error propagates.
   */
  async #release(held: Held, session: UploadSession): Promise<boolean> {
    const next = { ...session, writer: null };
    let v: string | null;
    try {
      v = await this.#o.store.commit(
        [{ key: meta.upload(session.id), version: held.version }],
        [this.#put(next)],
      );
    } catch (err) {
      this.#ended.add(held.writer);
      if (this.#ended.size > MAX_ENDED_WRITERS) {
        this.#ended.delete(this.#ended.values().next().value!);
      }
      throw err;
    }
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
      if (!(err instanceof DriverNotFoundError)) throw err;
      await chunk.body?.cancel().catch(() => {});
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
    } catch (err) {
      if (err instanceof DriverNotFoundError) {
        await this.#discard(session);
        throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `Upload ${session.id} is gone`, {
          detail: { upload: session.id },
          cause: err,
        });
      }
      throw err;
    } finally {
      clearInterval(timer);
      await renewing;
    }
  }

  async #renew(held: Held): Promise<void> {
    const leased = { ...held.session, writer: this.#lease(held) };
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

/** {@linkcode UploadService} of one repository. */
export class RepositoryUploads implements UploadService {
  constructor(
    private readonly uploads: Uploads,
    private readonly repo: string,
    private readonly events: Events,
  ) {}

  get minChunkLength(): number {
    return this.uploads.minChunkLength;
  }

  async start(): Promise<UploadStatus> {
    return status(await this.uploads.create(this.repo));
  }

  async status(id: string): Promise<UploadStatus> {
    return status(await this.uploads.get(this.repo, id));
  }

  async append(id: string, chunk: Chunk): Promise<UploadStatus> {
    return status(await this.uploads.append(this.repo, id, chunk));
  }

  complete(id: string, digest: Digest, chunk: Chunk): Promise<StoredBlob> {
    return this.uploads.complete(this.repo, id, digest, chunk, this.events);
  }

  cancel(id: string): Promise<void> {
    return this.uploads.cancel(this.repo, id);
  }

  monolithic(
    digest: Digest,
    body: ReadableStream<Uint8Array> | null,
    options?: { verified?: () => void },
  ): Promise<StoredBlob> {
    return this.uploads.monolithic(this.repo, digest, body, this.events, options?.verified);
  }
}

function status(session: UploadSession): UploadStatus {
  return {
    id: session.id,
    repository: session.repo,
    offset: session.offset,
    started: session.started,
  };
}

interface Held {
  session: UploadSession;
  version: string;
  writer: string;
}

function outOfOrder(session: UploadSession, start: number, why?: string): RegistryError {
  return new RegistryError(
    "RANGE_INVALID",
    why
      ? `Upload ${session.id} ${why}; retry from the reported Range`
      : `Chunk starts at ${start} but upload ${session.id} holds ${session.offset} bytes`,
    { upload: { id: session.id, offset: session.offset }, detail: { offset: session.offset } },
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
