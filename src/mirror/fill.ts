/**
 * @module
 * One blob on its way from an upstream into the blob store, with the requests that read
 * it as it arrives. The upstream's body is read once, continuously, into a bounded window
 * of recent chunks; the store (the normal upload path, which verifies the digest and
 * publishes nothing until the blob is whole) and every request read from that window.
 *
 * - The upstream is read ahead of its readers by up to the window, so a slow disk write
 *   or socket write never stops the upstream connection, and memory stays bounded by the
 *   window. The slowest reader sets the pace: one client pulling a cold blob gets it at
 *   the speed of the slowest of upstream, store and client.
 * - A request that takes nothing for a while (a stalled client), or that starts behind the
 *   window (a late request), is let go: it waits for the blob to be stored and continues
 *   from the store at its offset. A request that disconnects is dropped; the copy goes on.
 *   The store is never let go.
 * - The newest chunk is held back from requests until the bytes are verified. The upload
 *   path the store runs hashes the bytes as it reads them (the one SHA-256 pass of a
 *   copy) and says when they matched, before it makes them durable, so clients get the
 *   end of a blob as soon as its digest is checked. On a mismatch, a wrong length, or any
 *   failure of the copy, their streams end short of the blob's length, so each client
 *   sees its response cut off, and nothing is stored.
 * - The store and the first {@linkcode COPYING_READERS} requests get byte streams that copy
 *   window chunks into the consumer's buffer (a BYOB read: the listener's pooled buffers,
 *   the upload path's write buffers), or hand a copy to a plain read, so the chunks never
 *   leave the fill: once every reader has passed one, it goes back to whoever supplied it
 *   (`recycle`) and the upstream is read into it again. A copy then allocates nothing per
 *   chunk and leaves no garbage. Further concurrent requests get the chunks themselves (no
 *   copy per request, which would cost more CPU than it saves memory once many follow);
 *   a chunk given out so is left to the garbage collector instead.
 */
import type { ByteRange } from "../../drivers/blob/types.ts";
import type { Digest } from "../oci/digest.ts";

/** Bytes of recent chunks kept for readers (and how far the slowest may lag). */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** A request that takes nothing for this long no longer holds the copy back. */
export const STALL_MS = 2_000;
/** Requests of one copy that read it through copies of its chunks (see above). */
export const COPYING_READERS = 2;

/** Where the bytes of a fill go, and where a request continues once they are stored. */
export interface FillSink {
  /**
   * Stores the stream through the upload path, calling `verified` once every byte arrived
   * and matched the digest (before they are published); rejects when they did not match.
   */
  store(body: ReadableStream<Uint8Array>, verified: () => void): Promise<void>;
  /** Opens the stored blob (or a range of it) for a request that continues from there. */
  openStored(range: ByteRange): Promise<ReadableStream<Uint8Array>>;
}

interface Chunk {
  start: number;
  bytes: Uint8Array;
  /** Given to a request as it is: never recycled. */
  shared?: boolean;
}

/** How a reader's stream takes window bytes: returns how many it took. */
type Put = (
  controller: ReadableByteStreamController | ReadableStreamDefaultController<Uint8Array>,
  bytes: Uint8Array,
  chunk: Chunk,
) => number;

interface Reader {
  pos: number;
  /** Exclusive end. */
  end: number;
  movedAt: number;
  /** Let go of: continues from the store once the fill is done. */
  detached: boolean;
}

/** A blob being copied from the upstream. */
export class Fill {
  readonly size: number;
  /** Settles when the blob is stored (rejects when it was not). */
  readonly done: Promise<void>;
  readonly #chunks: Chunk[] = [];
  /** Bytes received so far. */
  #head = 0;
  /** True once the upstream's body ended. */
  #ended = false;
  /** True once every byte arrived, as many as announced, and the store found them right. */
  #verified = false;
  #stored = false;
  #failure: unknown = null;
  /** The requests following the copy (not the store). */
  readonly #readers = new Set<Reader>();
  /** The store's reader, which is never let go. */
  readonly #store: Reader;
  #changed = Promise.withResolvers<void>();
  readonly #upstream: ReadableStreamDefaultReader<Uint8Array>;
  readonly #digest: Digest;
  readonly #recycle: (chunk: Uint8Array) => void;

  /** `recycle` gets each chunk of `body` once no reader needs it any more. */
  constructor(
    digest: Digest,
    size: number,
    body: ReadableStream<Uint8Array>,
    sink: FillSink,
    recycle: (chunk: Uint8Array) => void = () => {},
  ) {
    this.size = size;
    this.#digest = digest;
    this.#recycle = recycle;
    this.#upstream = body.getReader();
    this.#store = { pos: 0, end: Infinity, movedAt: Date.now(), detached: false };
    const pumped = this.#pump();
    const verified = () => {
      if (this.#failure !== null || !this.#ended || this.#head !== this.size) return;
      this.#verified = true;
      this.#wake();
    };
    this.done = sink.store(this.#storeStream(), verified).then(
      () => {
        // A copy this fill found wrong (its length) never counts as stored.
        if (!this.#verified) throw this.#failure ?? new Error("The copy was not verified");
        this.#stored = true;
        this.#wake();
      },
      (err) => {
        this.#failure = err;
        this.#upstream.cancel(err).catch(() => {});
        this.#wake();
        throw err;
      },
    );
    this.done.catch(() => {});
    pumped.catch(() => {});
  }

  /** True once the blob is stored or the copy failed. */
  get finished(): boolean {
    return this.#stored || this.#failure !== null;
  }

  /** Stops the copy (shutdown): nothing is stored, requests are cut short. */
  abort(reason: unknown): void {
    this.#upstream.cancel(reason).catch(() => {});
  }

  /** A stream of the blob (or of `range`) for one request, following the copy. */
  read(range: ByteRange | undefined, sink: FillSink): ReadableStream<Uint8Array> {
    const start = range?.start ?? 0;
    const end = (range?.end ?? this.size - 1) + 1;
    const reader: Reader = { pos: start, end, movedAt: Date.now(), detached: false };
    const copying = this.#readers.size < COPYING_READERS;
    if (start < this.#base) reader.detached = true;
    else this.#readers.add(reader);
    let stored: ReadableStreamDefaultReader<Uint8Array> | null = null;
    const leave = () => {
      this.#readers.delete(reader);
      this.#wake();
    };
    const put: Put = copying
      ? (controller, bytes) => deliver(controller as ReadableByteStreamController, bytes)
      : (controller, bytes, chunk) => {
        chunk.shared = true;
        controller.enqueue(bytes);
        return bytes.byteLength;
      };
    const close = (controller: { close(): void }) =>
      copying ? closeBytes(controller as ReadableByteStreamController) : controller.close();
    const source = {
      pull: async (
        controller: ReadableByteStreamController | ReadableStreamDefaultController<Uint8Array>,
      ) => {
        while (true) {
          if (stored) {
            const { done, value } = await stored.read();
            if (done) close(controller);
            else controller.enqueue(value); // the store's own chunk: ours to hand over
            return;
          }
          if (reader.pos >= reader.end) {
            leave();
            close(controller);
            return;
          }
          if (this.#failure !== null) {
            // Cut short (the response announced the whole length, so the client sees an
            // error); the failure itself is logged once, by the copy's holder.
            leave();
            close(controller);
            return;
          }
          if (!reader.detached && reader.pos < this.#base) {
            reader.detached = true;
            leave();
          }
          if (reader.detached) {
            // Let go of: the rest comes from the store once the blob is there.
            if (!await this.done.then(() => true, () => false)) continue;
            stored = (await sink.openStored({ start: reader.pos, end: reader.end - 1 }))
              .getReader();
            continue;
          }
          const found = this.#slice(reader.pos, reader.end, !this.#verified);
          if (found) {
            this.#advance(reader, put(controller, found.bytes, found.chunk));
            return;
          }
          await this.#changed.promise;
        }
      },
      cancel: async (reason: unknown) => {
        leave();
        await stored?.cancel(reason);
      },
    };
    return copying
      ? new ReadableStream({ type: "bytes", ...source }, { highWaterMark: 0 })
      : new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
  }

  /** The stream the store reads: every chunk, as soon as it arrived. */
  #storeStream(): ReadableStream<Uint8Array> {
    const reader = this.#store;
    return new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        while (true) {
          const found = this.#slice(reader.pos, reader.end, false);
          if (found) {
            this.#advance(reader, deliver(controller, found.bytes));
            return;
          }
          // A whole body goes to the store even when it does not match: the upload path
          // finds the mismatch itself (and says so); a body cut off is an error.
          if (this.#ended) {
            closeBytes(controller);
            return;
          }
          if (this.#failure !== null) throw this.#failure;
          await this.#changed.promise;
        }
      },
      cancel: (reason) => this.#upstream.cancel(reason),
    }, { highWaterMark: 0 });
  }

  /** Reads the upstream into the window, keeping at most the window ahead of the slowest. */
  async #pump(): Promise<void> {
    try {
      while (true) {
        await this.#room();
        const { done, value } = await this.#upstream.read();
        if (done) break;
        this.#chunks.push({ start: this.#head, bytes: value });
        this.#head += value.byteLength;
        this.#trim();
        this.#wake();
      }
      this.#ended = true;
      if (this.#head !== this.size) {
        // Readers are cut short; the store checks the digest of what came all the same.
        this.#failure ??= new Error(
          `The upstream sent ${this.#head} bytes of ${this.#digest.value}, whose size is ` +
            `${this.size}`,
        );
      }
    } catch (err) {
      // The store sees the failure, fails, and that settles `done`.
      this.#failure ??= err;
    }
    this.#wake();
  }

  /** Offset of the oldest byte still in the window. */
  get #base(): number {
    return this.#chunks[0]?.start ?? this.#head;
  }

  #advance(reader: Reader, bytes: number): void {
    reader.pos += bytes;
    reader.movedAt = Date.now();
    this.#trim();
    this.#wake();
  }

  /**
   * Bytes from `pos` (before `end`) in the window, or null; `holdBack` leaves out the
   * newest chunk (released to requests once the store verified the digest).
   */
  #slice(
    pos: number,
    end: number,
    holdBack: boolean,
  ): { chunk: Chunk; bytes: Uint8Array } | null {
    const chunks = this.#chunks;
    const usable = holdBack ? chunks.length - 1 : chunks.length;
    let lo = 0;
    let hi = usable - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = chunks[mid];
      if (pos < c.start) hi = mid - 1;
      else if (pos >= c.start + c.bytes.byteLength) lo = mid + 1;
      else {
        const from = pos - c.start;
        const to = Math.min(c.bytes.byteLength, end - c.start);
        const bytes = from === 0 && to === c.bytes.byteLength
          ? c.bytes
          : c.bytes.subarray(from, to);
        return { chunk: c, bytes };
      }
    }
    return null;
  }

  /** Waits while the store, or a request that is still moving, lags the window behind. */
  async #room(): Promise<void> {
    while (this.#failure === null) {
      const slowest = this.#slowest();
      if (this.#head - slowest.pos <= WINDOW_BYTES) return;
      if (slowest !== this.#store && Date.now() - slowest.movedAt > STALL_MS) {
        slowest.detached = true;
        this.#readers.delete(slowest);
        continue;
      }
      let timer = 0;
      await Promise.race([
        this.#changed.promise,
        new Promise((r) => timer = setTimeout(r, 250) as unknown as number),
      ]);
      clearTimeout(timer);
    }
  }

  /** The reader furthest behind (the store, or a request). */
  #slowest(): Reader {
    let slowest = this.#store;
    for (const r of this.#readers) if (r.pos < slowest.pos) slowest = r;
    return slowest;
  }

  /** Drops chunks every reader has passed that are more than the window old. */
  #trim(): void {
    const keepFrom = Math.min(this.#slowest().pos, this.#head - WINDOW_BYTES);
    const chunks = this.#chunks;
    let drop = 0;
    while (drop < chunks.length - 1) {
      const c = chunks[drop];
      if (c.start + c.bytes.byteLength > keepFrom) break;
      drop++;
    }
    for (const c of chunks.splice(0, drop)) if (!c.shared) this.#recycle(c.bytes);
  }

  #wake(): void {
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }
}

/**
 * Puts window bytes into a reader's stream without giving the window's memory away: into
 * the pending BYOB read's buffer (as much as fits), or as a copy. Returns the bytes taken.
 */
function deliver(controller: ReadableByteStreamController, bytes: Uint8Array): number {
  const request = controller.byobRequest;
  const view = request?.view;
  if (!request || !view) {
    controller.enqueue(bytes.slice());
    return bytes.byteLength;
  }
  const n = Math.min(view.byteLength, bytes.byteLength);
  new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(0, n));
  request.respond(n);
  return n;
}

/** Ends a byte stream, completing a BYOB read still waiting (as the end). */
function closeBytes(controller: ReadableByteStreamController): void {
  controller.close();
  controller.byobRequest?.respond(0);
}
