/**
 * @module
 * A small pool of equal-sized buffers for streaming response bodies through BYOB readers:
 * a blob is read from disk into a pooled buffer and written to the socket from it, so a
 * pull allocates (and the kernel zeroes) nothing per chunk. The pool keeps at most `max`
 * idle buffers; beyond that, buffers given back are left to the garbage collector.
 */

/** Equal-sized reusable buffers. */
export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #idle: ArrayBuffer[] = [];

  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  /** An idle buffer, or a new one. */
  take(): Uint8Array {
    const buffer = this.#idle.pop();
    return new Uint8Array(buffer ?? new ArrayBuffer(this.size));
  }

  /** Returns a buffer (any view of it) to the pool; detached or foreign buffers are dropped. */
  give(view: Uint8Array | undefined): void {
    const buffer = view?.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength !== this.size) return;
    if (buffer.detached || this.#idle.length >= this.#max) return;
    this.#idle.push(buffer);
  }
}
