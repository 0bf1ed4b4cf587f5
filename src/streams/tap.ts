/**
 * @module
 * A pass-through byte stream that watches the bytes going by (to hash them, count them, or
 * refuse too many) without copying or allocating per chunk: a BYOB read of the tapped
 * stream is forwarded to the source with the reader's own buffer, so the source (a request
 * body read from a socket) fills the final consumer's buffer directly (a filesystem write
 * buffer, an S3 part). Sources that are not byte streams are read chunk by chunk, and
 * their chunks copied into the consumer's buffers, never taken from them: such a source
 * may share a chunk with other readers (a mirror's copy hands the same chunk to the store
 * and to every client), and a byte stream that enqueued it would detach its buffer.
 */
import { ioBuffer } from "../../drivers/io_buffer.ts";

/** What a tap does with the bytes. */
export interface TapHooks {
  /** Sees each chunk before the consumer does; throwing errors the stream. */
  chunk?(bytes: Uint8Array): void;
  /** Runs when the source ends; throwing errors the stream instead of ending it. */
  end?(): void;
}

/** A source that stops sending: how long one read may wait, and what the stream fails with. */
export interface StallGuard {
  timeoutMs: number;
  error(): Error;
}

/** Size of the buffers allocated for consumers that read without their own. */
const AUTO_CHUNK = 128 * 1024;

/**
 * `source`, observed by `hooks`, as a byte stream. With `stall`, a read of the source that
 * waits more than `stall.timeoutMs` errors the stream with `stall.error()` and cancels the
 * source; time the consumer spends not reading does not count (one coarse timer per
 * stream, not one per chunk).
 */
export function tap(
  source: ReadableStream<Uint8Array>,
  hooks: TapHooks,
  stall?: StallGuard,
): ReadableStream<Uint8Array> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  const plain = byob ? null : source.getReader();
  const reader = (byob ?? plain)!;
  /** What the consumer's last buffer could not take of a plain source's chunk. */
  let rest: Uint8Array | null = null;
  /** When the read of the source in flight started (0: none is). */
  let waitingSince = 0;
  /** True once the stream ended, failed or was cancelled: reads still in flight are dropped. */
  let finished = false;
  let timer = 0;
  const finish = () => {
    finished = true;
    clearInterval(timer);
  };
  /** The next read of the source (into `view` when given), and the hooks on what it gave. */
  const read = async (view?: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>> => {
    waitingSince = Date.now();
    const result = view
      ? await byob!.read(view)
      : byob
      ? await byob.read(ioBuffer(AUTO_CHUNK))
      : await plain!.read();
    waitingSince = 0;
    if (finished) return result;
    try {
      if (result.done) hooks.end?.();
      else hooks.chunk?.(result.value);
    } catch (err) {
      // A refused chunk stops the source too (a request body is then left unread).
      await reader.cancel(err).catch(() => {});
      throw err;
    }
    return result;
  };
  return new ReadableStream({
    type: "bytes",
    start(controller) {
      if (!stall) return;
      const tick = Math.max(20, Math.min(stall.timeoutMs / 4, 5_000));
      timer = setInterval(() => {
        if (finished || waitingSince === 0 || Date.now() - waitingSince < stall.timeoutMs) return;
        finish();
        const err = stall.error();
        controller.error(err);
        reader.cancel(err).catch(() => {});
      }, tick) as unknown as number;
      Deno.unrefTimer(timer);
    },
    async pull(controller) {
      const request = controller.byobRequest;
      const view = request?.view;
      try {
        if (byob && request && view) {
          // The consumer's buffer goes to the source, and comes back (transferred) filled.
          const result = await read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
          if (finished) return;
          if (result.done) {
            finish();
            controller.close();
          }
          // At the end the buffer comes back empty; either way it goes back to the consumer.
          if (result.value) request.respondWithNewView(result.value);
          else request.respond(0);
          return;
        }
        let chunk = rest;
        rest = null;
        while (!chunk?.byteLength) {
          const result = await read();
          if (finished) return;
          if (result.done) {
            finish();
            controller.close();
            request?.respond(0);
            return;
          }
          chunk = result.value;
        }
        if (plain && request && view) {
          // Copied into the consumer's buffer; what does not fit waits for the next pull.
          const n = Math.min(view.byteLength, chunk.byteLength);
          new Uint8Array(view.buffer, view.byteOffset, n).set(chunk.subarray(0, n));
          if (n < chunk.byteLength) rest = chunk.subarray(n);
          request.respond(n);
        } else controller.enqueue(plain ? chunk.slice() : chunk);
      } catch (err) {
        // After a stall the stream has failed already; the read it cut off fails here too.
        if (finished) return;
        finish();
        throw err;
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
}
