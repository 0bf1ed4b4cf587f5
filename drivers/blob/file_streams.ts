/**
 * @module
 * Bytes in and out of open file handles, as streams: large reads into the consumer's
 * buffer, and writes gathered into large syscalls. Used by the filesystem blob driver; nothing here
 * knows about keys or uploads.
 */
import { BufferPool, ioBuffer, ioView } from "../io_buffer.ts";

/** Read size for streaming files out; large reads keep per-chunk overhead low. */
const READ_CHUNK = 1 << 20;
/** Small incoming chunks are gathered up to this size, so each write syscall is large. */
const WRITE_BUFFER = 1 << 20;
/** A BYOB read into less free space than this writes the buffer out first. */
const MIN_READ = 128 * 1024;
/**
 * Write buffers of finished uploads, kept for the next ones (at most four): a push of
 * many chunks (one request each) reuses them instead of leaving 2 MiB of garbage per
 * request for the collector.
 */
const WRITE_BUFFERS = new BufferPool(WRITE_BUFFER, 4);

/**
 * Streams `length` bytes of `file` from its current position, closing it once the bytes
 * are sent, on error, or when the consumer cancels. A byte stream: a consumer with a BYOB
 * reader has the file read straight into its own buffer (Berth's listener reads into a
 * small pool, so a pull allocates nothing per chunk); a default reader gets fresh 1 MiB
 * chunks. Nothing is read ahead of the consumer (it overlaps reads with writes itself).
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
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      const request = controller.byobRequest;
      if (left <= 0) {
        close();
        controller.close();
        request?.respond(0);
        return;
      }
      const given = request?.view;
      const buf = given
        ? new Uint8Array(given.buffer, given.byteOffset, Math.min(given.byteLength, left))
        : ioBuffer(Math.min(READ_CHUNK, left));
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
      if (request) request.respond(n);
      else controller.enqueue(buf.subarray(0, n));
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
  });
}

/**
 * Writes the whole stream to `file` at its current position; returns the byte count.
 * Bytes are gathered into buffers of {@linkcode WRITE_BUFFER}, so each write syscall is
 * large. A byte stream (a request body) is read straight into them (BYOB), so a push
 * allocates nothing per chunk, and one buffer fills while the other is written (one write
 * in flight at a time, so the file grows in order). Other streams' chunks are copied in,
 * except large ones, which are written as they are.
 */
export async function pour(body: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<number> {
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
  };
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return await pourChunks(body, writeAll);
  }
  // Two buffers: one fills from the stream while the other is being written.
  let buffer: Uint8Array = WRITE_BUFFERS.take();
  let spare: Uint8Array | null = WRITE_BUFFERS.take();
  let buffered = 0;
  let written = 0;
  let writing: Promise<Uint8Array> | null = null;
  const flush = async (full: Uint8Array, length: number) => {
    await writeAll(full.subarray(0, length));
    return full;
  };
  try {
    while (true) {
      const { done, value } = await byob.read(buffer.subarray(buffered));
      // The buffer was transferred to the stream and comes back in `value`.
      if (!value) throw new Error("The stream was cancelled while it was written");
      buffer = ioView(value.buffer);
      if (done) break;
      buffered += value.length;
      written += value.length;
      if (WRITE_BUFFER - buffered < MIN_READ) {
        const next: Uint8Array = spare ?? await writing!;
        writing = flush(buffer, buffered);
        writing.catch(() => {}); // awaited below; never unhandled meanwhile
        spare = null;
        buffer = next;
        buffered = 0;
      }
    }
    if (writing) spare = await writing;
    writing = null;
    await writeAll(buffer.subarray(0, buffered));
    WRITE_BUFFERS.give(buffer);
    WRITE_BUFFERS.give(spare);
    return written;
  } finally {
    if (writing) await writing.catch(() => {});
    byob.releaseLock();
  }
}

/** {@linkcode pour} for streams that are not byte streams. */
async function pourChunks(
  body: ReadableStream<Uint8Array>,
  writeAll: (bytes: Uint8Array) => Promise<void>,
): Promise<number> {
  const buffer = ioBuffer(WRITE_BUFFER);
  let buffered = 0;
  let written = 0;
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
