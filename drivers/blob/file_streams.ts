/**
 * @module
 * Bytes in and out of open file handles, as streams: large reads with read-ahead, and
 * writes gathered into large syscalls. Used by the filesystem blob driver; nothing here
 * knows about keys or uploads.
 */

/** Read size for streaming files out; large reads keep per-chunk overhead low. */
const READ_CHUNK = 1 << 20;
/** Small incoming chunks are gathered up to this size, so each write syscall is large. */
const WRITE_BUFFER = 1 << 20;

/**
 * Streams `length` bytes of `file` from its current position, closing it once the bytes
 * are sent, on error, or when the consumer cancels. Up to four chunks are read ahead, so
 * disk reads overlap socket writes and a GC pause does not stall the transfer.
 */
export function fileStream(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let left = length;
  let closed = false;
  let reading: Promise<unknown> = Promise.resolve();
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
      const read = file.read(buf);
      reading = read.catch(() => {});
      let n: number | null;
      try {
        n = await read;
      } catch (err) {
        close();
        throw err;
      }
      if (closed) return; // cancelled while the read was in flight
      if (n === null || n === 0) {
        close();
        controller.error(new Error(`File ended ${left} bytes before the expected end`));
        return;
      }
      left -= n;
      controller.enqueue(n === buf.byteLength ? buf : buf.subarray(0, n));
      if (left <= 0) {
        close();
        controller.close();
      }
    },
    // A read still in flight finishes before the handle goes, so no operation ever runs
    // on a closed (and possibly reused) descriptor.
    cancel: async () => {
      await reading;
      close();
    },
  }, { highWaterMark: 4 });
}

/**
 * Writes the whole stream to `file` at its current position; returns the byte count.
 * Chunks smaller than {@linkcode WRITE_BUFFER} are gathered first: request bodies arrive
 * in 16–64 KiB pieces, and one write per piece halves the throughput.
 */
export async function pour(body: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<number> {
  const buffer = new Uint8Array(WRITE_BUFFER);
  let buffered = 0;
  let written = 0;
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.byteLength;) at += await file.write(bytes.subarray(at));
  };
  for await (const chunk of body) {
    written += chunk.byteLength;
    const large = chunk.byteLength >= WRITE_BUFFER / 4;
    if (buffered > 0 && (large || buffered + chunk.byteLength > WRITE_BUFFER)) {
      await writeAll(buffer.subarray(0, buffered));
      buffered = 0;
    }
    if (large) await writeAll(chunk);
    else {
      buffer.set(chunk, buffered);
      buffered += chunk.byteLength;
    }
  }
  await writeAll(buffer.subarray(0, buffered));
  return written;
}

/** Flushes a folder's entries (a rename into it) to the device; POSIX only. */
export async function syncFolder(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}
