/**
 * @module
 * Buffers that bytes go through between the kernel and Berth: socket reads, file reads
 * and writes, socket writes. Each starts {@linkcode IO_SKEW} bytes into its memory, off a
 * page boundary: the kernel copies between page-aligned memory (the page cache, socket
 * pages) and a page-aligned buffer several times slower on some CPUs. On this project's
 * AMD EPYC machines a 1 MiB file read into a page-aligned buffer ran at 1-1.7 GB/s, the
 * same read 64 bytes further on at 6 GB/s, and a large `ArrayBuffer` is page-aligned
 * whenever the allocator maps fresh memory for it, so which one a buffer got decided
 * whether a pull ran at full speed.
 *
 * Code that reads into such a buffer with a BYOB reader gets it back transferred; it
 * rebuilds the whole view with {@linkcode ioView}, never `new Uint8Array(buffer)`.
 */

/** Bytes between the start of a buffer's memory and its first usable byte. */
export const IO_SKEW = 64;

/** A new I/O buffer of `size` usable bytes. */
export function ioBuffer(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(size + IO_SKEW), IO_SKEW, size);
}

/** The whole usable view of an I/O buffer's memory (after a transfer, say). */
export function ioView(buffer: ArrayBufferLike): Uint8Array {
  return new Uint8Array(buffer, IO_SKEW, buffer.byteLength - IO_SKEW);
}

/** Usable bytes of an I/O buffer's memory; 0 when it is detached or not one. */
export function ioSize(buffer: ArrayBufferLike): number {
  return buffer instanceof ArrayBuffer && !buffer.detached && buffer.byteLength > IO_SKEW
    ? buffer.byteLength - IO_SKEW
    : 0;
}

/**
 * A small pool of equal-sized I/O buffers for streaming bodies through BYOB readers: a
 * blob is read from disk into a pooled buffer and written to the socket from it, so a
 * transfer allocates (and the kernel zeroes) nothing per chunk. The pool keeps at most
 * `max` idle buffers; beyond that, buffers given back are left to the garbage collector.
 */
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
    return buffer ? ioView(buffer) : ioBuffer(this.size);
  }

  /** Returns a buffer (any view of it) to the pool; detached or foreign buffers are dropped. */
  give(view: Uint8Array | null | undefined): void {
    const buffer = view?.buffer;
    if (!buffer || ioSize(buffer) !== this.size || this.#idle.length >= this.#max) return;
    this.#idle.push(buffer as ArrayBuffer);
  }
}
