/**
 * @module
 * S3 multipart building blocks shared by `write` (large objects) and resumable uploads:
 * cutting a byte stream into part-sized buffers one at a time, and the five multipart
 * calls (initiate, upload part, list parts, complete, abort).
 *
 * Memory: a stream is copied into one caller-owned buffer of the part size; a part is
 * sent, and the buffer refilled, only after S3 has acknowledged the previous part. So
 * one writer holds one part, whatever the object size.
 */
import { ioBuffer, ioView } from "../io_buffer.ts";
import { MAX_PARTS, type S3Client } from "./s3_client.ts";
import {
  completeMultipartXml,
  parseListParts,
  parseS3Error,
  type UploadedPart,
  xmlValue,
} from "./s3_xml.ts";

/**
 * Reads a byte stream into caller-owned buffers, never holding more than one chunk. A byte
 * stream (a request body through the upload tap) is read with a BYOB reader into one
 * reused scratch buffer, so filling a part allocates nothing per chunk.
 */
export class Chunker {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  readonly #byob: ReadableStreamBYOBReader | null;
  #scratch: Uint8Array | null = null;
  #pending: Uint8Array | null = null;
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream: chunks as they come.
    }
    this.#byob = byob;
    this.#reader = byob ? null : stream.getReader();
  }

  /** True once the stream has ended and every byte was handed out. */
  get ended(): boolean {
    return this.#ended && this.#pending === null;
  }

  /**
   * Copies bytes into `target` from index `from` until it is full or the stream ends.
   * Returns the new fill level. Errors of the stream propagate unchanged.
   */
  async fill(target: Uint8Array, from: number): Promise<number> {
    let at = from;
    while (at < target.length) {
      if (!this.#pending) {
        if (this.#ended) break;
        const { value, done } = await this.#read(target.length - at);
        if (done) {
          this.#ended = true;
          break;
        }
        if (value.byteLength === 0) continue;
        this.#pending = value;
      }
      const take = Math.min(target.length - at, this.#pending.byteLength);
      target.set(this.#pending.subarray(0, take), at);
      at += take;
      this.#pending = take === this.#pending.byteLength ? null : this.#pending.subarray(take);
    }
    return at;
  }

  /** Stops reading; the stream is cancelled with `reason`. */
  async cancel(reason?: unknown): Promise<void> {
    this.#pending = null;
    await (this.#byob ?? this.#reader)!.cancel(reason).catch(() => {});
  }

  /** The next chunk; a BYOB read asks for no more than `room` bytes. */
  async #read(room: number): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (!this.#byob) return await this.#reader!.read();
    const scratch = this.#scratch ?? ioBuffer(SCRATCH_BYTES);
    this.#scratch = null;
    const result = await this.#byob.read(scratch.subarray(0, Math.min(room, scratch.length)));
    // The scratch buffer went to the stream and comes back in the result.
    if (result.value) this.#scratch = ioView(result.value.buffer);
    return result;
  }
}

/** Scratch buffer of a {@linkcode Chunker} reading a byte stream. */
const SCRATCH_BYTES = 256 * 1024;

/** Reads all of `stream` into `target` from index 0; throws if it holds more or fewer bytes. */
export async function readExactly(
  stream: ReadableStream<Uint8Array>,
  target: Uint8Array,
  what: string,
): Promise<void> {
  const chunker = new Chunker(stream);
  const got = await chunker.fill(target, 0);
  const extra = got === target.length && await chunker.fill(new Uint8Array(1), 0) > 0;
  await chunker.cancel();
  if (got !== target.length || extra) {
    const held = extra ? `more than ${got}` : String(got);
    throw new Error(`${what} holds ${held} bytes where ${target.length} were expected`);
  }
}

/** One multipart upload of one object. */
export interface Multipart {
  /** Full object key (root directory included). */
  key: string;
  uploadId: string;
}

/** Starts a multipart upload at `key`. */
export async function initiate(client: S3Client, key: string): Promise<Multipart> {
  const { text } = await client.sendText({ method: "POST", key, query: { uploads: "" } });
  const uploadId = xmlValue(text, "UploadId");
  if (!uploadId) throw new Error(`S3 started a multipart upload at ${key} without an UploadId`);
  return { key, uploadId };
}

/**
 * Uploads part `number` and returns its ETag; null when the upload no longer exists.
 * `bytes` is buffered, so the request is retried as a whole.
 */
export async function uploadPart(
  client: S3Client,
  upload: Multipart,
  number: number,
  bytes: Uint8Array,
): Promise<string | null> {
  if (number > MAX_PARTS) {
    throw new Error(`Object ${upload.key} needs more than ${MAX_PARTS} parts; raise chunksize`);
  }
  const response = await client.send({
    method: "PUT",
    key: upload.key,
    query: { partNumber: String(number), uploadId: upload.uploadId },
    body: bytes,
    accept: [404],
  });
  await response.body?.cancel();
  if (response.status === 404) return null;
  const etag = response.headers.get("etag");
  if (!etag) throw new Error(`S3 stored part ${number} of ${upload.key} without an ETag`);
  return etag;
}

/**
 * Every part uploaded so far, by part number (ListParts, followed page by page); null
 * when the upload no longer exists.
 */
export async function listParts(
  client: S3Client,
  upload: Multipart,
): Promise<Map<number, UploadedPart> | null> {
  const parts = new Map<number, UploadedPart>();
  let marker: string | null = null;
  do {
    const query: Record<string, string> = { uploadId: upload.uploadId };
    if (marker) query["part-number-marker"] = marker;
    const { status, text } = await client.sendText({
      method: "GET",
      key: upload.key,
      query,
      accept: [404],
    });
    if (status === 404) return null;
    const page = parseListParts(text);
    for (const part of page.parts) parts.set(part.number, part);
    marker = page.next;
  } while (marker);
  return parts;
}

/**
 * Completes an upload from exactly `parts` (ascending). False when the upload no longer
 * exists (already completed or aborted); the caller decides which.
 */
export async function complete(
  client: S3Client,
  upload: Multipart,
  parts: readonly { number: number; etag: string }[],
): Promise<boolean> {
  const { status, text } = await client.sendText({
    method: "POST",
    key: upload.key,
    query: { uploadId: upload.uploadId },
    headers: { "content-type": "application/xml" },
    body: new TextEncoder().encode(completeMultipartXml(parts)),
    accept: [404],
  });
  if (status === 404) return false;
  if (parseS3Error(text)) throw new Error(`S3 did not complete ${upload.key}: ${text}`);
  return true;
}

/** Aborts an upload; an upload that no longer exists is fine. */
export async function abortMultipart(client: S3Client, upload: Multipart): Promise<void> {
  const response = await client.send({
    method: "DELETE",
    key: upload.key,
    query: { uploadId: upload.uploadId },
    accept: [404],
  });
  await response.body?.cancel();
}

/**
 * Writes `chunker`'s stream as a multipart object at `key`, starting with the first
 * `buffer.length` bytes already in `buffer` (a full part). Nothing is visible under
 * `key` until S3 completes the upload; on failure the upload is aborted.
 */
export async function writeMultipart(
  client: S3Client,
  key: string,
  buffer: Uint8Array,
  chunker: Chunker,
): Promise<number> {
  const upload = await initiate(client, key);
  const parts: { number: number; etag: string }[] = [];
  let size = 0;
  try {
    let fill = buffer.length;
    while (fill > 0) {
      const number = parts.length + 1;
      const etag = await uploadPart(client, upload, number, buffer.subarray(0, fill));
      if (!etag) throw new Error(`The multipart upload of ${key} vanished`);
      parts.push({ number, etag });
      size += fill;
      fill = fill === buffer.length ? await chunker.fill(buffer, 0) : 0;
    }
    if (!await complete(client, upload, parts)) {
      throw new Error(`The multipart upload of ${key} vanished before it completed`);
    }
    return size;
  } catch (err) {
    await chunker.cancel(err);
    await abortMultipart(client, upload).catch(() => {});
    throw err;
  }
}
