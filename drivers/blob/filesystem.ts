/**
 * @module
 * {@linkcode BlobDriver} on a local filesystem. The layout under the root folder:
 *
 * ```
 * <root>/<key>                 published objects, one file per key
 * <root>/_tmp/<uuid>           writes in progress, renamed onto their key when whole
 * <root>/_uploads/<id>/data    unfinished uploads, renamed onto their key at publish
 * ```
 *
 * A rename within one filesystem is atomic, so a reader (or a process that restarts
 * after a crash) sees either nothing or the whole object; `_tmp/` and `_uploads/` must
 * therefore live on the same filesystem as the objects, which keeping them under the
 * root guarantees.
 *
 * Durability: by default nothing is fsynced. A process crash loses nothing (the bytes
 * are in the page cache); a power cut or kernel crash can lose objects and upload bytes
 * written in the last seconds, while the metadata store (Deno KV syncs its commits)
 * still records them; such a blob then fails clients' digest checks. CNCF distribution
 * syncs every file it closes, and pays for it on every chunk. `{ sync: true }` flushes
 * file data before every rename and acknowledged append, and the folder after every
 * rename: one or two device flushes per write, for hosts where an acknowledged blob
 * must survive a power cut.
 */
import { dirname, join, resolve, sep } from "node:path";
import {
  type BlobDriver,
  type BlobEntry,
  type BlobStat,
  type ByteRange,
  DriverFullError,
  DriverNotFoundError,
  DriverRangeError,
  type UploadDriver,
  type UploadRef,
} from "./types.ts";
import { isNoSpace } from "../errors.ts";
import { fileStream, pour, syncFolder } from "./file_streams.ts";

/** Options of {@linkcode FilesystemBlobDriver.open}. */
export interface FilesystemDriverOptions {
  /** Flush data to the device before publishing or acknowledging it (default false). */
  sync?: boolean;
}

const SAFE_KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const SAFE_UPLOAD_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Folders of the driver's own, which no key may enter. */
const RESERVED = new Set(["_tmp", "_uploads"]);
/** How often a rename is retried when a concurrent delete pruned its target folder. */
const RENAME_ATTEMPTS = 8;

function notFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

/**
 * Runs a write-side operation, turning "no space left" into {@linkcode DriverFullError};
 * the caller has already arranged for nothing partial to stay behind.
 */
async function spaceChecked<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (isNoSpace(err)) {
      throw new DriverFullError(`No space left on the storage device while ${what}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** Blobs as files. */
export class FilesystemBlobDriver implements BlobDriver {
  readonly name = "filesystem";
  readonly cheapStat = true;
  readonly #root: string;
  readonly #sync: boolean;

  private constructor(root: string, options: FilesystemDriverOptions) {
    this.#root = root;
    this.#sync = options.sync ?? false;
  }

  /**
   * Opens a driver on `root`, creating the folder and its `_tmp/` and `_uploads/`
   * folders. Async so a missing or read-only root fails at startup, not at the first push.
   */
  static async open(
    root: string,
    options: FilesystemDriverOptions = {},
  ): Promise<FilesystemBlobDriver> {
    const absolute = resolve(root);
    await Deno.mkdir(join(absolute, "_tmp"), { recursive: true });
    await Deno.mkdir(join(absolute, "_uploads"), { recursive: true });
    return new FilesystemBlobDriver(absolute, options);
  }

  #path(key: string): string {
    const parts = key.split("/");
    if (!SAFE_KEY.test(key) || parts.some((p) => p === "." || p === "..")) {
      throw new Error(`Storage key "${key.slice(0, 200)}" is not safe`);
    }
    if (RESERVED.has(parts[0])) throw new Error(`Storage key "${key}" is reserved`);
    return join(this.#root, key);
  }

  #tmp(): string {
    return join(this.#root, "_tmp", crypto.randomUUID());
  }

  #uploadFile(ref: UploadRef): string {
    const id = String(ref.id);
    if (!SAFE_UPLOAD_ID.test(id)) throw new Error(`Upload id "${id.slice(0, 100)}" is not safe`);
    return join(this.#root, "_uploads", id, "data");
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const info = await Deno.stat(this.#path(key));
      return info.isFile ? { size: info.size, modified: info.mtime?.getTime() ?? 0 } : null;
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async read(
    key: string,
    range?: ByteRange,
    expect?: { size: number },
  ): Promise<ReadableStream<Uint8Array> | null> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#path(key), { read: true });
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
    try {
      const { size } = await file.stat();
      if (expect && size !== expect.size) {
        file.close();
        return null;
      }
      const start = range?.start ?? 0;
      if (range && start >= size) throw new DriverRangeError(size);
      const end = Math.min(range?.end ?? size - 1, size - 1);
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      return fileStream(file, end - start + 1);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  async write(key: string, body: ReadableStream<Uint8Array>): Promise<{ size: number }> {
    const target = this.#path(key);
    const tmp = this.#tmp();
    let file: Deno.FsFile | null = null;
    try {
      return await spaceChecked(`writing ${key}`, async () => {
        file = await Deno.open(tmp, { write: true, createNew: true });
        const size = await pour(body, file);
        if (this.#sync) await file.syncData();
        file.close();
        file = null;
        await this.#rename(tmp, target);
        return { size };
      });
    } catch (err) {
      (file as Deno.FsFile | null)?.close();
      await Deno.remove(tmp).catch(() => {});
      await body.cancel(err).catch(() => {});
      throw err;
    }
  }

  /**
   * Renames `from` onto `to`, creating the folders on the way. A concurrent `delete` may
   * prune an empty folder between the mkdir and the rename; the rename then retries.
   */
  async #rename(from: string, to: string): Promise<void> {
    for (let attempt = 1;; attempt++) {
      try {
        await Deno.rename(from, to);
        break;
      } catch (err) {
        if (!notFound(err) || attempt >= RENAME_ATTEMPTS) throw err;
        await Deno.mkdir(dirname(to), { recursive: true }).catch((e) => {
          // A folder pruned mid-mkdir (NotFound, or AlreadyExists when it vanished right
          // after mkdir saw it): the next attempt redoes it.
          if (!notFound(e) && !(e instanceof Deno.errors.AlreadyExists)) throw e;
        });
      }
    }
    if (this.#sync) await syncFolder(dirname(to));
  }

  async delete(key: string): Promise<boolean> {
    const path = this.#path(key);
    try {
      await Deno.remove(path);
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
    await this.#prune(dirname(path));
    return true;
  }

  /**
   * Removes emptied folders from `dir` up to (not including) the root, so garbage
   * collection leaves no husks behind. Best effort: a non-recursive remove refuses a
   * folder that gained an entry meanwhile, which ends the walk.
   */
  async #prune(dir: string): Promise<void> {
    while (dir.startsWith(this.#root + sep)) {
      try {
        await Deno.remove(dir);
      } catch {
        return;
      }
      dir = dirname(dir);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobEntry> {
    const base = prefix.replace(/\/+$/, "");
    const start = base === "" ? this.#root : this.#path(base);
    const walk = async function* (dir: string, rel: string): AsyncIterable<BlobEntry> {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (err) {
        // Deleted mid-walk, or the prefix names a file rather than a folder.
        if (notFound(err) || err instanceof Deno.errors.NotADirectory) return;
        throw err;
      }
      for (const e of entries) {
        if (rel === "" && RESERVED.has(e.name)) continue;
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory) yield* walk(join(dir, e.name), key);
        else if (e.isFile) {
          // Removed between the listing and the stat: not there any more, not listed.
          const info = await Deno.stat(join(dir, e.name)).catch(() => null);
          if (info) yield { key, size: info.size, modified: info.mtime?.getTime() ?? 0 };
        }
      }
    };
    yield* walk(start, base);
  }

  async health(): Promise<void> {
    const probe = this.#tmp();
    try {
      await Deno.writeFile(probe, new Uint8Array([1]), { createNew: true });
      await Deno.remove(probe);
    } catch (err) {
      throw new Error(`Storage root "${this.#root}" is not writable`, { cause: err });
    }
  }

  /**
   * Opens the data file of an upload and takes its exclusive lock. Appends and publish
   * hold it, so a writer whose lease ran out can neither interleave bytes with the
   * current writer nor write into a file that was published (renamed onto a key) or
   * aborted while it waited: the path must still name the file it locked.
   */
  async #lockUpload(ref: UploadRef): Promise<Deno.FsFile> {
    const path = this.#uploadFile(ref);
    const file = await this.#openUpload(ref, { read: true, write: true });
    try {
      await file.lock(true);
      const [held, named] = await Promise.all([file.stat(), Deno.stat(path).catch(() => null)]);
      if (!named || held.ino !== named.ino || held.dev !== named.dev) {
        throw new DriverNotFoundError(`Upload "${ref.id}" was published or aborted meanwhile`);
      }
      return file;
    } catch (err) {
      file.close();
      throw err;
    }
  }

  async #openUpload(ref: UploadRef, options: Deno.OpenOptions): Promise<Deno.FsFile> {
    try {
      return await Deno.open(this.#uploadFile(ref), options);
    } catch (err) {
      if (notFound(err)) {
        throw new DriverNotFoundError(`Upload "${ref.id}" does not exist`, { cause: err });
      }
      throw err;
    }
  }

  readonly uploads: UploadDriver = {
    readable: true,
    minChunkLength: 0,
    create: async (id) => {
      const ref = { id };
      const path = this.#uploadFile(ref);
      await spaceChecked("starting an upload", async () => {
        await Deno.mkdir(dirname(path), { recursive: true });
        await Deno.writeFile(path, new Uint8Array(0), { createNew: true });
      }).catch(async (err) => {
        await Deno.remove(dirname(path), { recursive: true }).catch(() => {});
        throw err;
      });
      return ref;
    },
    append: async (ref, offset, body) => {
      const file = await this.#lockUpload(ref);
      try {
        const { size } = await file.stat();
        if (size < offset) {
          throw new DriverNotFoundError(
            `Upload "${ref.id}" holds ${size} bytes, fewer than offset ${offset}`,
          );
        }
        await file.truncate(offset);
        await file.seek(offset, Deno.SeekMode.Start);
        try {
          const written = await spaceChecked(`appending to upload ${ref.id}`, async () => {
            const n = await pour(body, file);
            if (this.#sync) await file.syncData();
            return n;
          });
          return { ref, written };
        } catch (err) {
          // Back to the last acknowledged offset: a failed append leaves nothing behind.
          await file.truncate(offset).catch(() => {});
          await body.cancel(err).catch(() => {});
          throw err;
        }
      } finally {
        file.close(); // closing releases the lock
      }
    },
    read: async (ref, end) => {
      const file = await this.#openUpload(ref, { read: true });
      const { size } = await file.stat().catch((err) => {
        file.close();
        throw err;
      });
      if (size < end) {
        file.close();
        throw new DriverNotFoundError(`Upload "${ref.id}" holds ${size} bytes, fewer than ${end}`);
      }
      return fileStream(file, end);
    },
    publish: async (ref, size, key) => {
      const path = this.#uploadFile(ref);
      const target = this.#path(key);
      let file: Deno.FsFile;
      try {
        file = await this.#lockUpload(ref);
      } catch (err) {
        // A publish retried after it succeeded (the caller died before recording it).
        if ((await this.stat(key))?.size === size) return key;
        throw err;
      }
      try {
        const held = (await file.stat()).size;
        if (held < size) {
          throw new DriverNotFoundError(
            `Upload "${ref.id}" holds ${held} bytes, fewer than ${size}`,
          );
        }
        await file.truncate(size);
        if (this.#sync) await file.syncData();
        await this.#rename(path, target); // under the lock: see #lockUpload
      } finally {
        file.close();
      }
      await Deno.remove(dirname(path), { recursive: true }).catch(() => {});
      return key;
    },
    list: async function* (this: FilesystemBlobDriver) {
      for await (const entry of Deno.readDir(join(this.#root, "_uploads"))) {
        if (!entry.isDirectory || !SAFE_UPLOAD_ID.test(entry.name)) continue;
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
