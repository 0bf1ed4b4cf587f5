/**
 * @module
 * A pass-through byte stream that watches the bytes going by (to hash them, count them, or
 * refuse too many) without copying or allocating per chunk: a BYOB read of the tapped
 * stream is forwarded to the source with the reader's own buffer, so the source (a request
 * body read from a socket) fills the final consumer's buffer directly (a filesystem write
 * buffer, an S3 part). Sources that are not byte streams are read chunk by chunk.
 */

/** What a tap does with the bytes. */
export interface TapHooks {
  /** Sees each chunk before the consumer does; throwing errors the stream. */
  chunk(bytes: Uint8Array): void;
  /** Runs when the source ends; throwing errors the stream instead of ending it. */
  end?(): void;
}

/** Size of the buffers allocated for consumers that read without their own. */
const AUTO_CHUNK = 128 * 1024;

/** `source`, observed by `hooks`, as a byte stream. */
export function tap(
  source: ReadableStream<Uint8Array>,
  hooks: TapHooks,
): ReadableStream<Uint8Array> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  const plain = byob ? null : source.getReader();
  /** What the consumer's last buffer could not take of a plain source's chunk. */
  let rest: Uint8Array | null = null;
  /** Runs the hooks on what a read gave; a refusal cancels the source and errors. */
  const see = async (result: ReadableStreamReadResult<Uint8Array>): Promise<void> => {
    try {
      if (result.done) hooks.end?.();
      else hooks.chunk(result.value);
    } catch (err) {
      // A refused chunk stops the source too (a request body is then left unread).
      await (byob ?? plain!).cancel(err).catch(() => {});
      throw err;
    }
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller) {
      const request = controller.byobRequest;
      const view = request?.view;
      if (byob && request && view) {
        // The consumer's buffer goes to the source, and comes back (transferred) filled.
        const result = await byob.read(
          new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
        );
        await see(result);
        if (result.done) controller.close();
        // At the end the buffer comes back empty; either way it goes back to the consumer.
        if (result.value) request.respondWithNewView(result.value);
        else request.respond(0);
        return;
      }
      let chunk = rest;
      rest = null;
      while (!chunk?.byteLength) {
        const result = byob ? await byob.read(new Uint8Array(AUTO_CHUNK)) : await plain!.read();
        await see(result);
        if (result.done) {
          controller.close();
          request?.respond(0);
          return;
        }
        chunk = result.value;
      }
      if (plain && request && view) {
        // Copied into the consumer's buffer (a plain source's chunks may be shared, see
        // `owned`); what does not fit waits for the next pull.
        const n = Math.min(view.byteLength, chunk.byteLength);
        new Uint8Array(view.buffer, view.byteOffset, n).set(chunk.subarray(0, n));
        if (n < chunk.byteLength) rest = chunk.subarray(n);
        request.respond(n);
      } else controller.enqueue(owned(chunk, plain !== null));
    },
    cancel(reason) {
      return (byob ?? plain!).cancel(reason);
    },
  });
}

/**
 * `chunk` as a byte stream may take it: enqueueing transfers (detaches) its buffer, so a
 * chunk of a plain stream, which its source may share with other readers (a mirror's copy
 * hands the same chunk to the store and to every client), is copied first. Chunks a BYOB
 * read filled belong to this stream already.
 */
export function owned(chunk: Uint8Array, shared: boolean): Uint8Array {
  return shared ? chunk.slice() : chunk;
}
