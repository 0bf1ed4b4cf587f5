/**
 * @module
 * The S3 blob driver: objects in one bucket of Amazon S3 or an S3-compatible service,
 * under a root directory, over SigV4-signed `fetch`.
 *
 * - `stat` is HeadObject; `read` is GetObject with `Range`, its body streamed straight
 *   through; `delete` is HeadObject plus DeleteObject (S3 deletes silently, the contract
 *   wants to know whether something was there); `list` is ListObjectsV2, page by page.
 * - `write` buffers bodies up to the part size and sends one PutObject; a larger body
 *   becomes a multipart upload at its key, one part in memory at a time. Either way S3
 *   shows the object only once it is whole.
 * - Uploads are multipart uploads that accept chunks of any size (`s3_uploads.ts`), and
 *   publish in place: the blob keeps the multipart key, S3 never copies it.
 * - Requests are retried as `s3_client.ts` describes; what still fails is a
 *   {@linkcode DriverUnavailableError}.
 */
import {
  type BlobDriver,
  type BlobEntry,
  type BlobStat,
  type ByteRange,
  DriverRangeError,
  DriverUnavailableError,
} from "./types.ts";
import { MAX_PART_SIZE, MIN_PART_SIZE, S3Client, type S3DriverOptions } from "./s3_client.ts";
import { Chunker, writeMultipart } from "./s3_parts.ts";
import { S3Uploads } from "./s3_uploads.ts";

export type { S3DriverOptions } from "./s3_client.ts";

/** Part size when the configuration names none (distribution's default). */
const DEFAULT_PART_SIZE = 10 * 1024 * 1024;
/** First buffer of `write`; small objects (manifests, configs) never need a whole part. */
const SMALL_WRITE = 256 * 1024;

/** Blob driver over an S3 bucket. */
export class S3BlobDriver implements BlobDriver {
  readonly name = "s3";
  /** A HeadObject per blob read would double the round trips of every pull. */
  readonly cheapStat = false;
  readonly uploads: S3Uploads;
  readonly #client: S3Client;
  readonly #root: string;
  readonly #partSize: number;

  constructor(options: S3DriverOptions) {
    this.#client = new S3Client(options);
    const root = (options.rootdirectory ?? "").replace(/^\/+|\/+$/g, "");
    this.#root = root ? `${root}/` : "";
    const chunk = Number(options.chunksize ?? DEFAULT_PART_SIZE);
    if (!Number.isSafeInteger(chunk) || chunk <= 0) {
      throw new Error(`The s3 chunksize must be a positive number of bytes, not ${chunk}`);
    }
    this.#partSize = Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, chunk));
    this.uploads = new S3Uploads(this.#client, (key) => this.#full(key), this.#partSize);
  }

  stat(key: string): Promise<BlobStat | null> {
    return this.#client.headObject(this.#full(key));
  }

  async read(
    key: string,
    range?: ByteRange,
    expect?: { size: number },
  ): Promise<ReadableStream<Uint8Array> | null> {
    const full = this.#full(key);
    const response = await this.#client.get(full, range);
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (response.status === 416) {
      await response.body?.cancel();
      // Some services say the size (`Content-Range: bytes */<size>`); otherwise ask.
      const said = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
      const size = said ? Number(said[1]) : await this.#client.head(full);
      if (size === null) return null;
      throw new DriverRangeError(size);
    }
    const body = response.body ?? new ReadableStream({ start: (c) => c.close() });
    if (expect && objectSize(response) !== expect.size) {
      await body.cancel();
      return null;
    }
    if (!range || response.status === 206) return body;
    // A 200 to a ranged GET is the whole object: check the range and cut it here.
    const size = Number(response.headers.get("content-length"));
    if (range.start >= size) {
      await body.cancel();
      throw new DriverRangeError(size);
    }
    return body.pipeThrough(slice(range.start, range.end ?? size - 1));
  }

  async write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const chunker = new Chunker(body);
    let buffer = new Uint8Array(Math.min(SMALL_WRITE, this.#partSize));
    let fill: number;
    try {
      fill = await chunker.fill(buffer, 0);
      if (fill === buffer.length && buffer.length < this.#partSize) {
        const part = new Uint8Array(this.#partSize);
        part.set(buffer);
        buffer = part;
        fill = await chunker.fill(buffer, fill);
      }
      if (fill < buffer.length) {
        await this.#client.put(this.#full(key), buffer.subarray(0, fill));
        return { size: fill };
      }
    } catch (err) {
      await chunker.cancel(err);
      throw err;
    }
    return { size: await writeMultipart(this.#client, this.#full(key), buffer, chunker) };
  }

  async delete(key: string): Promise<boolean> {
    const full = this.#full(key);
    if (await this.#client.head(full) === null) return false;
    await this.#client.remove(full);
    return true;
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    for await (const object of this.#client.list(this.#full(prefix))) {
      yield { ...object, key: object.key.slice(this.#root.length) };
    }
  }

  async health(): Promise<void> {
    const response = await this.#client.send({ method: "HEAD", accept: [404] });
    await response.body?.cancel();
    if (response.status === 404) {
      throw new DriverUnavailableError(`S3 bucket ${this.#client.bucket} does not exist`);
    }
  }

  signedUrl(key: string, ttlSeconds: number): Promise<string> {
    return this.#client.presign(this.#full(key), ttlSeconds);
  }

  #full(key: string): string {
    return this.#root + key;
  }
}

/** The whole object's size a GetObject response tells: its Content-Range total, or its length. */
function objectSize(response: Response): number {
  const total = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
  return Number(total ? total[1] : response.headers.get("content-length"));
}

/** Passes on bytes `[start, end]` (inclusive) of a stream. */
function slice(start: number, end: number): TransformStream<Uint8Array, Uint8Array> {
  let at = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.byteLength, end + 1 - at);
      if (from < to) controller.enqueue(chunk.subarray(from, to));
      at += chunk.byteLength;
      if (at > end) controller.terminate();
    },
  });
}
