/**
 * @module
 * An in-process {@linkcode BlobDriver}: objects are arrays of chunks in a map. For tests
 * and throwaway registries; it holds every byte in memory by design.
 */
import {
  type BlobDriver,
  type BlobEntry,
  type BlobStat,
  type ByteRange,
  DriverNotFoundError,
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

/**
 * Streams bytes `[start, end]` (inclusive) of `chunks`. Each piece is copied as it is
 * pulled, so a consumer that reuses or changes its buffers cannot touch stored bytes.
 */
function streamOf(chunks: Uint8Array[], start: number, end: number): ReadableStream<Uint8Array> {
  function* pieces() {
    let at = 0;
    for (const c of chunks) {
      const from = Math.max(start - at, 0);
      const to = Math.min(end + 1 - at, c.byteLength);
      if (from < to) yield c.slice(from, to);
      at += c.byteLength;
    }
  }
  return ReadableStream.from(pieces());
}

/** Runs `f` and settles a promise with its result or its exception. */
function settle<T>(f: () => T): Promise<T> {
  return new Promise((resolve) => resolve(f()));
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
  readonly cheapStat = true;
  readonly #objects = new Map<string, Uint8Array[]>();
  /** When each object was written. */
  readonly #written = new Map<string, number>();
  readonly #uploads = new Map<string, Uint8Array[]>();
  readonly #touched = new Map<string, number>();

  /** The chunks of upload `id`, which must hold at least `length` bytes. */
  #upload(id: string, length: number): Uint8Array[] {
    const chunks = this.#uploads.get(id);
    if (!chunks) throw new DriverNotFoundError(`Upload "${id}" does not exist`);
    const held = size(chunks);
    if (held < length) {
      throw new DriverNotFoundError(`Upload "${id}" holds ${held} bytes, fewer than ${length}`);
    }
    return chunks;
  }

  stat(key: string): Promise<BlobStat | null> {
    const o = this.#objects.get(key);
    return Promise.resolve(o ? { size: size(o), modified: this.#written.get(key) ?? 0 } : null);
  }

  read(
    key: string,
    range?: ByteRange,
    expect?: { size: number },
  ): Promise<ReadableStream<Uint8Array> | null> {
    return settle(() => {
      const o = this.#objects.get(key);
      if (!o) return null;
      const total = size(o);
      if (expect && total !== expect.size) return null;
      if (!range) return streamOf(o, 0, total - 1);
      if (range.start >= total) throw new DriverRangeError(total);
      return streamOf(o, range.start, Math.min(range.end ?? total - 1, total - 1));
    });
  }

  async write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const chunks = await collect(body);
    this.#objects.set(key, chunks);
    this.#written.set(key, Date.now());
    return { size: size(chunks) };
  }

  delete(key: string): Promise<boolean> {
    this.#written.delete(key);
    return Promise.resolve(this.#objects.delete(key));
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    for (const [key, chunks] of [...this.#objects]) {
      if (!key.startsWith(prefix) || !this.#objects.has(key)) continue;
      yield { key, size: size(chunks), modified: this.#written.get(key) ?? 0 };
    }
  }

  health(): Promise<void> {
    return Promise.resolve();
  }

  readonly uploads: UploadDriver = {
    readable: true,
    minChunkLength: 0,
    create: (id) =>
      settle(() => {
        if (this.#uploads.has(id)) throw new Error(`Upload "${id}" already exists`);
        this.#uploads.set(id, []);
        this.#touched.set(id, Date.now());
        return { id };
      }),
    append: async (ref, offset, body) => {
      const id = String(ref.id);
      this.#upload(id, offset);
      const added = await collect(body);
      // Checked again: the upload may have been published, aborted or cut meanwhile.
      const existing = this.#upload(id, offset);
      this.#uploads.set(id, [...truncate(existing, offset), ...added]);
      this.#touched.set(id, Date.now());
      return { ref, written: size(added) };
    },
    read: (ref, end) => settle(() => streamOf(this.#upload(String(ref.id), end), 0, end - 1)),
    publish: (ref: UploadRef, length, key) =>
      settle(() => {
        const id = String(ref.id);
        const done = this.#objects.get(key);
        // A publish retried after it succeeded (the caller died before recording it).
        if (!this.#uploads.has(id) && done && size(done) === length) return key;
        this.#objects.set(key, truncate(this.#upload(id, length), length));
        this.#written.set(key, Date.now());
        this.#uploads.delete(id);
        this.#touched.delete(id);
        return key;
      }),
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
