/**
 * @module
 * Running SHA-256 digests of uploads, and how they survive restarts and cross processes.
 *
 * Two ways to carry a digest state between requests of one upload:
 * - **live**: `node:crypto` (about 1.4 GB/s here) hashes the bytes, and the state stays in
 *   the memory of the process that wrote them (its instance id is saved in the session).
 *   A request that lands in another process, or after a restart, re-hashes the bytes
 *   already stored (a cold resume, also at node:crypto speed) and takes the state over.
 *   Only possible when the blob driver can read an unfinished upload back.
 * - **portable**: `hash-wasm` (about 220 MB/s) hashes the bytes and its state (a hundred
 *   bytes) is saved with the session after every request, so any process continues
 *   without reading anything back. Required when the driver cannot read an unfinished
 *   upload (S3 multipart), or chosen in config for fleets that round-robin chunks.
 */
import { createHash, type Hash } from "node:crypto";
import type { IHasher } from "hash-wasm";
import { decodeBase64, encodeBase64 } from "./base64.ts";

/** Digest state saved with an upload session. */
export type DigestState =
  | { mode: "live"; owner: string }
  | { mode: "portable"; state: string };

/** A running SHA-256 at some offset of an upload. */
export interface RunningHash {
  update(chunk: Uint8Array): void;
  /** Hex digest of everything so far; the hash is no longer usable afterwards. */
  hex(): string;
  /** The state to save with the session once the request has stored `offset` bytes. */
  save(offset: number): DigestState;
}

type Remember = (offset: number, hash: Hash) => void;

class LiveHash implements RunningHash {
  constructor(
    private readonly hash: Hash,
    private readonly owner: string,
    private readonly remember: Remember,
  ) {}
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  hex(): string {
    return this.hash.digest("hex");
  }
  save(offset: number): DigestState {
    this.remember(offset, this.hash.copy());
    return { mode: "live", owner: this.owner };
  }
}

class PortableHash implements RunningHash {
  constructor(private readonly hasher: IHasher) {}
  update(chunk: Uint8Array): void {
    this.hasher.update(chunk);
  }
  hex(): string {
    return this.hasher.digest("hex");
  }
  save(): DigestState {
    return { mode: "portable", state: encodeBase64(this.hasher.save()) };
  }
}

/** hash-wasm's SHA-256, loaded the first time a portable state is needed. */
async function portableSha256(): Promise<IHasher> {
  const { createSHA256 } = await import("hash-wasm");
  return await createSHA256();
}

/** Options of {@linkcode UploadHashers}. */
export interface UploadHashersOptions {
  /** This process's instance id (owner of live states). */
  instanceId: string;
  /** Most live states kept in memory; the oldest are dropped (a later request re-hashes). */
  maxLive?: number;
}

/** Hands out running hashes for upload requests; holds this process's live states. */
export class UploadHashers {
  readonly #instanceId: string;
  readonly #maxLive: number;
  /** uploadId -> (offset, state) of live hashes this process owns. */
  readonly #live = new Map<string, { offset: number; hash: Hash }>();
  /** Cold resumes so far and the bytes they re-hashed (for logs and benchmarks). */
  readonly stats = { coldResumes: 0, coldBytes: 0 };

  constructor(options: UploadHashersOptions) {
    this.#instanceId = options.instanceId;
    this.#maxLive = options.maxLive ?? 4096;
  }

  /** A new hash for an upload that starts at byte 0. */
  async start(uploadId: string, portable: boolean): Promise<RunningHash> {
    if (portable) {
      const hasher = await portableSha256();
      hasher.init();
      return new PortableHash(hasher);
    }
    return this.#liveHash(uploadId, createHash("sha256"));
  }

  /**
   * The hash of an upload at `offset` with saved `state`. `readPrefix` streams the bytes
   * `[0, offset)` already stored; it is called only for a cold resume of a live state,
   * and is null when the driver cannot read unfinished uploads.
   */
  async resume(
    uploadId: string,
    offset: number,
    state: DigestState | null,
    readPrefix: (() => Promise<ReadableStream<Uint8Array>>) | null,
  ): Promise<RunningHash> {
    if (state?.mode === "portable") {
      const hasher = await portableSha256();
      hasher.load(decodeBase64(state.state));
      return new PortableHash(hasher);
    }
    const held = this.#live.get(uploadId);
    if (state?.mode === "live" && state.owner === this.#instanceId && held?.offset === offset) {
      // Work on a copy, so a request that fails half-way leaves the saved state intact.
      return this.#liveHash(uploadId, held.hash.copy());
    }
    if (!readPrefix) {
      throw new Error(`Upload ${uploadId} has a live digest state that cannot be rebuilt`);
    }
    const hash = createHash("sha256");
    let read = 0;
    for await (const chunk of await readPrefix()) {
      hash.update(chunk);
      read += chunk.byteLength;
    }
    if (read !== offset) {
      throw new Error(`Upload ${uploadId} holds ${read} bytes where its session says ${offset}`);
    }
    this.stats.coldResumes++;
    this.stats.coldBytes += read;
    return this.#liveHash(uploadId, hash);
  }

  /** Forgets the live state of a finished or cancelled upload. */
  forget(uploadId: string): void {
    this.#live.delete(uploadId);
  }

  #liveHash(uploadId: string, hash: Hash): RunningHash {
    return new LiveHash(hash, this.#instanceId, (offset, copy) => {
      this.#live.delete(uploadId); // re-insert: Map order is the eviction order
      this.#live.set(uploadId, { offset, hash: copy });
      if (this.#live.size > this.#maxLive) this.#live.delete(this.#live.keys().next().value!);
    });
  }
}
