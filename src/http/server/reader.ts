/**
 * @module
 * The read side of one connection: a fixed buffer the socket is read into only when someone
 * needs more bytes (a head being parsed, a body being pulled, or a bounded look-ahead that
 * notices a client hanging up). The buffer never grows, so a client that sends faster than
 * the server consumes is held back by TCP, not by memory.
 *
 * At most one socket read is in flight; everyone who needs bytes waits for that one.
 * A reset connection reads as the end of the stream.
 */
import { BufferPool } from "../../../drivers/io_buffer.ts";

/** What the reader needs of a connection. */
export interface ReadableConn {
  read(p: Uint8Array): Promise<number | null>;
}

/** Buffer size: a whole head (64 KiB) plus room for large socket reads. */
export const READ_BUFFER = 256 * 1024;
/** Free space below which the buffered bytes are moved to the front before a read. */
const MIN_READ = 16 * 1024;
/** Buffers of closed connections, reused by new ones (a client per request is common). */
const POOL = new BufferPool(READ_BUFFER, 8);

/** Buffered reads from one connection. */
export class ConnReader {
  readonly #conn: ReadableConn;
  readonly #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #inflight: Promise<boolean> | null = null;
  #eof = false;
  #error: unknown = null;

  constructor(conn: ReadableConn) {
    this.#conn = conn;
    this.#buf = POOL.take();
  }

  /**
   * Gives the buffer back for another connection, once no read can land in it any more;
   * call it after the connection closed. Buffered bytes are lost.
   */
  async release(): Promise<void> {
    await this.#inflight;
    this.#start = this.#end = 0;
    this.#eof = true;
    POOL.give(this.#buf);
  }

  /** The bytes read and not yet consumed (a view; valid until the next read). */
  get bytes(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** How many bytes are buffered. */
  get size(): number {
    return this.#end - this.#start;
  }

  /** True when the buffer cannot take another byte. */
  get full(): boolean {
    return this.#start === 0 && this.#end === this.#buf.length;
  }

  /** True once the peer closed (or reset) its side; buffered bytes may remain. */
  get eof(): boolean {
    return this.#eof;
  }

  /** True while a socket read is pending. */
  get reading(): boolean {
    return this.#inflight !== null;
  }

  /** The error that ended the stream, if it was not a clean close. */
  get error(): unknown {
    return this.#error;
  }

  /** Drops `n` buffered bytes. */
  consume(n: number): void {
    this.#start += n;
  }

  /**
   * Reads more bytes into the buffer (or waits for the read already in flight). Resolves
   * false at the end of the stream, else true; a {@linkcode full} buffer reads nothing.
   */
  fill(): Promise<boolean> {
    if (this.#inflight) return this.#inflight;
    if (this.#eof) return Promise.resolve(false);
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
    } else if (this.#buf.length - this.#end < MIN_READ && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) return Promise.resolve(true);
    this.#inflight = this.#read(this.#buf.subarray(this.#end)).then((n) => {
      this.#inflight = null;
      if (n === 0) return false;
      this.#end += n;
      return true;
    });
    return this.#inflight;
  }

  /**
   * Reads up to `target.length` bytes into `target`: buffered bytes first, else straight
   * from the socket into `target` (no copy). Resolves 0 at the end of the stream. Meant
   * for the one body reader: a concurrent `fill` waits, but sees its bytes land here.
   */
  async readInto(target: Uint8Array): Promise<number> {
    if (this.size === 0 && this.#inflight) await this.#inflight;
    if (this.size > 0) {
      const n = Math.min(this.size, target.length);
      target.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      return n;
    }
    if (this.#eof) return 0;
    this.#start = this.#end = 0;
    let done!: (more: boolean) => void;
    this.#inflight = new Promise<boolean>((resolve) => done = resolve);
    const n = await this.#read(target);
    this.#inflight = null;
    done(n > 0);
    return n;
  }

  /** One socket read; 0 at the end of the stream (a reset or a closed resource included). */
  async #read(into: Uint8Array): Promise<number> {
    try {
      const n = await this.#conn.read(into);
      if (n !== null && n > 0) return n;
    } catch (err) {
      this.#error = err;
    }
    this.#eof = true;
    return 0;
  }
}
