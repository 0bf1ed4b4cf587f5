/**
 * @module
 * Resumable uploads on S3 multipart uploads, with chunks of any size.
 *
 * Layout under the root directory (driver-owned; see `src/registry/keys.ts`):
 *
 * ```
 * blobs/_uploaded/<upload id>        the multipart object; at publish it becomes the blob
 * uploads/<upload id>/tail-<uuid>    staged bytes that did not fill a whole part yet
 * ```
 *
 * How an append works: the bytes of the ref's tail (if any) and then the request body
 * are copied into one part-sized buffer; every time it is full it goes to S3 as the next
 * part (UploadPart, sequential numbers from the ref); what is left at the end of the body
 * is written as a new tail object with a fresh name. A failed append therefore never
 * touches what its ref points to: a retry from the same ref overwrites the same later
 * part numbers and writes another tail. Memory is one part per upload being written.
 *
 * Publish uploads the tail as the last part (S3 lets the last part be small, also when
 * it is the only one), completes the upload with exactly parts 1..n, their ETags read
 * back with ListParts (so the ref stays a few hundred bytes, whatever the blob size),
 * deletes the staged tails and returns the multipart key: the bytes are never copied.
 * An upload of zero bytes aborts the multipart upload (S3 cannot complete one without
 * parts) and stores an empty object at the same key.
 */
import { DriverNotFoundError, type UploadDriver, type UploadRef } from "./types.ts";
import type { S3Client } from "./s3_client.ts";
import {
  abortMultipart,
  Chunker,
  complete,
  initiate,
  listParts,
  type Multipart,
  readExactly,
  uploadPart,
} from "./s3_parts.ts";

/** The state of an upload as the registry stores it (JSON, a few hundred bytes). */
export interface S3UploadState {
  /** The registry's upload id. */
  id: string;
  /** Driver key of the multipart object (root directory excluded). */
  key: string;
  /** S3's multipart upload id. */
  uploadId: string;
  /** Size of every part but the last; fixed when the upload starts. */
  partSize: number;
  /** Parts 1..parts are uploaded, each exactly `partSize` bytes. */
  parts: number;
  /** Bytes after the last part, staged as the object `uploads/<id>/<name>`. */
  tail?: { name: string; size: number };
  /** Name of the tail the previous ref staged; deleted by the next append. */
  staleTail?: string;
}

/** Multipart-backed {@linkcode UploadDriver}; `readable` is false (S3 parts are write-only). */
export class S3Uploads implements UploadDriver {
  readonly readable = false;
  readonly minChunkLength: number;
  readonly #client: S3Client;
  readonly #full: (key: string) => string;

  /** `full` maps a driver key to its object key (root directory prepended). */
  constructor(client: S3Client, full: (key: string) => string, partSize: number) {
    this.#client = client;
    this.#full = full;
    this.minChunkLength = partSize;
  }

  async create(id: string): Promise<UploadRef> {
    const key = `blobs/_uploaded/${id}`;
    const { uploadId } = await initiate(this.#client, this.#full(key));
    const state: S3UploadState = { id, key, uploadId, partSize: this.minChunkLength, parts: 0 };
    return { ...state };
  }

  async append(
    ref: UploadRef,
    offset: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<{ ref: UploadRef; written: number }> {
    const state = parseRef(ref);
    const chunker = new Chunker(body);
    try {
      const base = state.parts * state.partSize;
      const held = base + (state.tail?.size ?? 0);
      if (offset < base || offset > held) {
        throw new Error(
          `Upload ${state.id} holds ${held} bytes in parts of ${state.partSize}; ` +
            `it cannot continue at byte ${offset}`,
        );
      }
      const buffer = new Uint8Array(state.partSize);
      const keep = offset - base; // staged bytes that stay
      if (keep > 0 && !await this.#readTail(state, buffer.subarray(0, keep))) {
        throw new DriverNotFoundError(
          `Upload ${state.id} lost its staged bytes ${state.tail?.name}`,
        );
      }
      const upload = this.#multipart(state);
      let parts = state.parts;
      let fill = keep;
      let written = 0;
      for (;;) {
        const before = fill;
        fill = await chunker.fill(buffer, fill);
        written += fill - before;
        if (fill < buffer.length) break;
        if (!await uploadPart(this.#client, upload, parts + 1, buffer)) {
          throw new DriverNotFoundError(
            `The multipart upload of upload ${state.id} no longer exists`,
          );
        }
        parts++;
        fill = 0;
      }
      if (written === 0 && keep === (state.tail?.size ?? 0)) return { ref, written };
      const next: S3UploadState = { ...state, parts, tail: undefined, staleTail: state.tail?.name };
      if (fill > 0) {
        const name = `tail-${crypto.randomUUID()}`;
        await this.#client.put(this.#staged(state, name), buffer.subarray(0, fill));
        next.tail = { name, size: fill };
      }
      // The ref we were handed is committed, so the tail before it is garbage now.
      if (state.staleTail) {
        await this.#client.remove(this.#staged(state, state.staleTail)).catch(() => {});
      }
      return { ref: toRef(next), written };
    } catch (err) {
      await chunker.cancel(err);
      throw err;
    }
  }

  read(): Promise<ReadableStream<Uint8Array>> {
    return Promise.reject(
      new Error("S3 multipart uploads cannot be read back before they are published"),
    );
  }

  async publish(ref: UploadRef, size: number, _key: string): Promise<string> {
    const state = parseRef(ref);
    const base = state.parts * state.partSize;
    const held = base + (state.tail?.size ?? 0);
    // A prefix can end in the tail or on a part boundary, not inside an uploaded part.
    if (size > held || (size < base && size % state.partSize !== 0)) {
      throw new Error(
        `Upload ${state.id} holds ${held} bytes in parts of ${state.partSize}; ` +
          `its first ${size} bytes cannot be published`,
      );
    }
    const parts = Math.min(state.parts, Math.floor(size / state.partSize));
    const upload = this.#multipart(state);
    if (size === 0) {
      await abortMultipart(this.#client, upload);
      await this.#client.put(upload.key, new Uint8Array(0));
    } else if (!await this.#complete(state, upload, parts, size - parts * state.partSize)) {
      // The multipart upload is gone: completed by an earlier publish, or aborted.
      if (await this.#client.head(upload.key) !== size) {
        throw new DriverNotFoundError(`Upload ${state.id} no longer exists in S3`);
      }
    }
    await this.#clean(state);
    return state.key;
  }

  async abort(ref: UploadRef): Promise<void> {
    const state = parseRef(ref);
    await abortMultipart(this.#client, this.#multipart(state));
    await this.#clean(state);
  }

  /**
   * Completes the upload from parts 1..`count` and the first `tail` staged bytes as the
   * last part; false when the upload is gone.
   */
  async #complete(
    state: S3UploadState,
    upload: Multipart,
    count: number,
    tail: number,
  ): Promise<boolean> {
    const parts: { number: number; etag: string }[] = [];
    if (count > 0) {
      const listed = await listParts(this.#client, upload);
      if (!listed) return false;
      for (let number = 1; number <= count; number++) {
        const part = listed.get(number);
        if (part?.size !== state.partSize) {
          throw new Error(
            `Upload ${state.id} has no part ${number} of ${state.partSize} bytes in S3`,
          );
        }
        parts.push({ number, etag: part.etag });
      }
    }
    if (tail > 0) {
      const bytes = new Uint8Array(tail);
      if (!await this.#readTail(state, bytes)) return false;
      const number = count + 1;
      const etag = await uploadPart(this.#client, upload, number, bytes);
      if (!etag) return false;
      parts.push({ number, etag });
    }
    return await complete(this.#client, upload, parts);
  }

  /** Reads the first `target.length` staged bytes; false when the tail object is gone. */
  async #readTail(state: S3UploadState, target: Uint8Array): Promise<boolean> {
    if (target.length === 0) return true;
    if (!state.tail) return false;
    const end = target.length - 1;
    const key = this.#staged(state, state.tail.name);
    const response = await this.#client.get(key, { start: 0, end });
    if (response.status === 404 || response.status === 416 || !response.body) {
      await response.body?.cancel();
      return false;
    }
    await readExactly(response.body, target, `Staged tail ${key}`);
    return true;
  }

  /** Deletes every staged tail of the upload, those of failed appends included. */
  async #clean(state: S3UploadState): Promise<void> {
    for await (const object of this.#client.list(this.#staged(state, ""))) {
      await this.#client.remove(object.key);
    }
  }

  /** Object key of a staged tail (or, with `name` empty, the folder of them all). */
  #staged(state: S3UploadState, name: string): string {
    return this.#full(`uploads/${state.id}/${name}`);
  }

  #multipart(state: S3UploadState): Multipart {
    return { key: this.#full(state.key), uploadId: state.uploadId };
  }
}

function toRef(state: S3UploadState): UploadRef {
  const ref: UploadRef = { ...state };
  for (const name of Object.keys(ref)) if (ref[name] === undefined) delete ref[name];
  return ref;
}

function parseRef(ref: UploadRef): S3UploadState {
  const { id, key, uploadId, partSize, parts, tail, staleTail } = ref;
  const tailOk = tail === undefined ||
    (typeof tail === "object" && tail !== null &&
      typeof (tail as { name: unknown }).name === "string" &&
      Number.isSafeInteger((tail as { size: unknown }).size));
  if (
    typeof id !== "string" || typeof key !== "string" || typeof uploadId !== "string" ||
    !Number.isSafeInteger(partSize) || !Number.isSafeInteger(parts) || !tailOk ||
    (staleTail !== undefined && typeof staleTail !== "string")
  ) {
    throw new Error(`Not an S3 upload ref: ${JSON.stringify(ref).slice(0, 200)}`);
  }
  return ref as unknown as S3UploadState;
}
