/**
 * @module
 * Test data on disk: random (incompressible) files with their digests, split into chunk
 * files, written once before any timing so clients stream from the page cache.
 */
import { createHash } from "node:crypto";

const MiB = 1024 * 1024;

/** A blob on disk: the whole file, its digest, and the same bytes as chunk files. */
export interface BlobFile {
  file: string;
  digest: string;
  size: number;
  chunks: string[];
}

/** The `sha256:` digest of bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** Writes `size` random bytes to `path`; returns their digest. */
export async function randomFile(path: string, size: number): Promise<string> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const hash = createHash("sha256");
    const buf = new Uint8Array(MiB);
    for (let done = 0; done < size; done += buf.byteLength) {
      const part = buf.subarray(0, Math.min(MiB, size - done));
      // getRandomValues fills at most 64 KiB per call.
      for (let i = 0; i < part.byteLength; i += 65536) {
        crypto.getRandomValues(part.subarray(i, i + 65536));
      }
      hash.update(part);
      let written = 0;
      while (written < part.byteLength) written += await file.write(part.subarray(written));
    }
    return "sha256:" + hash.digest("hex");
  } finally {
    file.close();
  }
}

/** Copies `path` into files of `chunkSize` bytes (`<path>.0000`, ...); returns their paths. */
export async function splitFile(path: string, chunkSize: number): Promise<string[]> {
  const src = await Deno.open(path);
  try {
    const out: string[] = [];
    const buf = new Uint8Array(chunkSize);
    for (let i = 0;; i++) {
      let n = 0;
      while (n < chunkSize) {
        const r = await src.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      if (n === 0) return out;
      const name = `${path}.${String(i).padStart(4, "0")}`;
      await Deno.writeFile(name, buf.subarray(0, n));
      out.push(name);
    }
  } finally {
    src.close();
  }
}

/** A random blob of `size` bytes at `path`, plus its chunk files. */
export async function blobFile(path: string, size: number, chunkSize: number): Promise<BlobFile> {
  const digest = await randomFile(path, size);
  return { file: path, digest, size, chunks: await splitFile(path, chunkSize) };
}

/** Removes a blob file and its chunks. */
export async function removeBlobFile(blob: BlobFile): Promise<void> {
  for (const f of [blob.file, ...blob.chunks]) await Deno.remove(f).catch(() => {});
}
