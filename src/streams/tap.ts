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
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller) {
      const request = controller.byobRequest;
      const view = request?.view;
      // The consumer's buffer goes to the source, and comes back (transferred) filled.
      const forward = byob !== null && request !== null && view != null;
      let result: ReadableStreamReadResult<Uint8Array>;
      if (forward) {
        result = await byob!.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      } else {
        result = byob ? await byob.read(new Uint8Array(AUTO_CHUNK)) : await plain!.read();
      }
      try {
        if (result.done) {
          hooks.end?.();
          controller.close();
          if (forward && result.value) request!.respondWithNewView(result.value);
          else request?.respond(0);
          return;
        }
        hooks.chunk(result.value);
      } catch (err) {
        // A refused chunk stops the source too (a request body is then left unread).
        await (byob ?? plain!).cancel(err).catch(() => {});
        throw err;
      }
      if (forward) request!.respondWithNewView(result.value);
      else controller.enqueue(owned(result.value, plain !== null));
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
