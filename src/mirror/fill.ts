/**
 * @module
 * One blob on its way from an upstream into the blob store, with the requests that read
 * it as it arrives. The upstream's body is read once: every chunk goes to the store
 * (through the normal upload path, which verifies the digest and publishes nothing until
 * the blob is whole) and to a bounded window in memory that the readers follow.
 *
 * - The store sets the pace; readers within the window hold it back (never more than the
 *   window ahead of the slowest), so one client pulling a cold blob gets it at the speed of
 *   the slowest of upstream, store and client, with memory bounded by the window.
 * - A reader that takes nothing for a while (a stalled client), or that starts behind the
 *   window (a late request), is let go: it waits for the blob to be stored and continues
 *   from the store at its offset. A reader that disconnects is dropped; the copy goes on.
 * - The newest chunk is held back from readers until the store has verified the digest:
 *   on a mismatch (or any failure of the copy) the readers' streams end short of the
 *   blob's length, so each client sees its response cut off, and nothing is stored.
 */
import type { ByteRange } from "../../drivers/blob/types.ts";

/** Bytes of recent chunks kept for readers (and how far the slowest may lag). */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** A reader that takes nothing for this long no longer holds the copy back. */
export const STALL_MS = 2_000;

/** Where the bytes of a fill go, and where a reader continues once they are stored. */
export interface FillSink {
  /** Stores the stream through the upload path; rejects when the digest does not match. */
  store(body: ReadableStream<Uint8Array>): Promise<void>;
  /** Opens the stored blob (or a range of it) for a reader that continues from there. */
  openStored(range: ByteRange): Promise<ReadableStream<Uint8Array>>;
}

interface Chunk {
  start: number;
  bytes: Uint8Array;
}

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
  #stored = false;
  #failure: unknown = null;
  readonly #readers = new Set<Reader>();
  #changed = Promise.withResolvers<void>();
  readonly #upstream: ReadableStreamDefaultReader<Uint8Array>;

  constructor(size: number, body: ReadableStream<Uint8Array>, sink: FillSink) {
    this.size = size;
    this.#upstream = body.getReader();
    const toStore = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: (reason) => this.#upstream.cancel(reason),
    }, { highWaterMark: 0 });
    this.done = sink.store(toStore).then(
      () => {
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
  }

  /** True once the blob is stored or the copy failed. */
  get finished(): boolean {
    return this.#stored || this.#failure !== null;
  }

  /** Stops the copy (shutdown): nothing is stored, readers fail. */
  abort(reason: unknown): void {
    this.#upstream.cancel(reason).catch(() => {});
  }

  /** A stream of the blob (or of `range`) for one request, following the copy. */
  read(range: ByteRange | undefined, sink: FillSink): ReadableStream<Uint8Array> {
    const start = range?.start ?? 0;
    const end = (range?.end ?? this.size - 1) + 1;
    const reader: Reader = { pos: start, end, movedAt: Date.now(), detached: false };
    if (start < this.#base) reader.detached = true;
    else this.#readers.add(reader);
    let stored: ReadableStreamDefaultReader<Uint8Array> | null = null;
    const leave = () => {
      this.#readers.delete(reader);
      this.#wake();
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (true) {
          if (stored) {
            const { done, value } = await stored.read();
            if (done) controller.close();
            else controller.enqueue(value);
            return;
          }
          if (reader.pos >= reader.end) {
            leave();
            controller.close();
            return;
          }
          if (this.#failure !== null) {
            // Cut short (the response announced the whole length, so the client sees an
            // error); the failure itself is logged once, by the copy's holder.
            leave();
            controller.close();
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
          const bytes = this.#slice(reader.pos, reader.end);
          if (bytes) {
            reader.pos += bytes.byteLength;
            reader.movedAt = Date.now();
            this.#wake();
            controller.enqueue(bytes);
            return;
          }
          await this.#changed.promise;
        }
      },
      cancel: async (reason) => {
        leave();
        await stored?.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }

  /** Offset of the oldest byte still in the window. */
  get #base(): number {
    return this.#chunks[0]?.start ?? this.#head;
  }

  /**
   * Bytes from `pos` (before `end`) that a reader may have now: everything in the window
   * but the newest chunk, which is released once the store verified the digest.
   */
  #slice(pos: number, end: number): Uint8Array | null {
    const chunks = this.#chunks;
    const usable = this.#stored ? chunks.length : chunks.length - 1;
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
        return from === 0 && to === c.bytes.byteLength ? c.bytes : c.bytes.subarray(from, to);
      }
    }
    return null;
  }

  /** Feeds the store the next chunk, once the slowest reader is close enough. */
  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    await this.#room();
    const { done, value } = await this.#upstream.read();
    if (done) {
      controller.close();
      this.#wake();
      return;
    }
    this.#chunks.push({ start: this.#head, bytes: value });
    this.#head += value.byteLength;
    this.#trim();
    this.#wake();
    controller.enqueue(value);
  }

  /** Waits while a reader that is still moving lags more than the window behind. */
  async #room(): Promise<void> {
    while (true) {
      const slowest = this.#slowest();
      if (!slowest || this.#head - slowest.pos <= WINDOW_BYTES) return;
      if (Date.now() - slowest.movedAt > STALL_MS) {
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

  #slowest(): Reader | undefined {
    let slowest: Reader | undefined;
    for (const r of this.#readers) if (!slowest || r.pos < slowest.pos) slowest = r;
    return slowest;
  }

  /** Drops chunks every reader has passed that are more than the window old. */
  #trim(): void {
    const keepFrom = Math.min(this.#slowest()?.pos ?? Infinity, this.#head - WINDOW_BYTES);
    const chunks = this.#chunks;
    let drop = 0;
    while (drop < chunks.length - 1) {
      const c = chunks[drop];
      if (c.start + c.bytes.byteLength > keepFrom) break;
      drop++;
    }
    if (drop > 0) chunks.splice(0, drop);
  }

  #wake(): void {
    const changed = this.#changed;
    this.#changed = Promise.withResolvers<void>();
    changed.resolve();
  }
}
