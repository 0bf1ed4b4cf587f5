/**
 * @module
 * An in-process {@linkcode BlobDriver}: objects are arrays of chunks in a map. For tests
 * and throwaway registries; it holds every byte in memory by design.
 */
import {
  type BlobDriver,
  type BlobStat,
  type ByteRange,
  DriverRangeError,
  type UploadDriver,
  type UploadRef,
} from "./types.ts";

/** Copies a stream's chunks (the caller may reuse its buffers). */
async function collect(body: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk.slice());
  return chunks;
}

function size(chunks: Uint8Array[]): number {
  return chunks.reduce((n, c) => n + c.byteLength, 0);
}

/** Streams bytes `[start, end]` (inclusive) of `chunks`. */
function streamOf(chunks: Uint8Array[], start: number, end: number): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of chunks) {
    const from = Math.max(start - at, 0);
    const to = Math.min(end + 1 - at, c.byteLength);
    if (from < to) parts.push(c.subarray(from, to));
    at += c.byteLength;
  }
  return ReadableStream.from(parts);
}

/** Keeps only the first `length` bytes of `chunks`. */
function truncate(chunks: Uint8Array[], length: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of chunks) {
    if (at >= length) break;
    out.push(at + c.byteLength <= length ? c : c.subarray(0, length - at));
    at += c.byteLength;
  }
  return out;
}

/** Blobs in memory. */
export class MemoryBlobDriver implements BlobDriver {
  readonly name = "memory";
  readonly #objects = new Map<string, Uint8Array[]>();
  readonly #uploads = new Map<string, Uint8Array[]>();
  readonly #touched = new Map<string, number>();

  stat(key: string): Promise<BlobStat | null> {
    const o = this.#objects.get(key);
    return Promise.resolve(o ? { size: size(o) } : null);
  }

  read(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    const o = this.#objects.get(key);
    if (!o) return Promise.resolve(null);
    const total = size(o);
    if (!range) return Promise.resolve(streamOf(o, 0, total - 1));
    if (range.start >= total) return Promise.reject(new DriverRangeError(total));
    return Promise.resolve(streamOf(o, range.start, Math.min(range.end ?? total - 1, total - 1)));
  }

  async write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const chunks = await collect(body);
    this.#objects.set(key, chunks);
    return { size: size(chunks) };
  }

  delete(key: string): Promise<boolean> {
    return Promise.resolve(this.#objects.delete(key));
  }

  async *list(prefix: string): AsyncIterable<string> {
    for (const key of [...this.#objects.keys()]) if (key.startsWith(prefix)) yield key;
  }

  health(): Promise<void> {
    return Promise.resolve();
  }

  readonly uploads: UploadDriver = {
    readable: true,
    minChunkLength: 0,
    create: (id) => {
      this.#uploads.set(id, []);
      this.#touched.set(id, Date.now());
      return Promise.resolve({ id });
    },
    append: async (ref, offset, body) => {
      const id = ref.id as string;
      const existing = this.#uploads.get(id);
      if (!existing) throw new Error(`Upload ${id} does not exist`);
      if (size(existing) < offset) throw new Error(`Upload ${id} is shorter than ${offset}`);
      const added = await collect(body);
      this.#uploads.set(id, [...truncate(existing, offset), ...added]);
      this.#touched.set(id, Date.now());
      return { ref, written: size(added) };
    },
    read: (ref, end) => {
      const chunks = this.#uploads.get(ref.id as string) ?? [];
      return Promise.resolve(end === 0 ? ReadableStream.from([]) : streamOf(chunks, 0, end - 1));
    },
    publish: (ref: UploadRef, length, key) => {
      const id = ref.id as string;
      const chunks = this.#uploads.get(id);
      if (!chunks) return Promise.reject(new Error(`Upload ${id} does not exist`));
      this.#objects.set(key, truncate(chunks, length));
      this.#uploads.delete(id);
      this.#touched.delete(id);
      return Promise.resolve(key);
    },
    abort: (ref) => {
      this.#uploads.delete(ref.id as string);
      this.#touched.delete(ref.id as string);
      return Promise.resolve();
    },
    list: async function* (this: MemoryBlobDriver) {
      for (const [id, modified] of [...this.#touched]) yield { id, ref: { id }, modified };
    }.bind(this),
  };
}
