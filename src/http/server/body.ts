/**
 * @module
 * A request body as a readable byte stream, read from the connection only when the
 * consumer pulls. Backpressure is TCP's: while a slow disk or S3 holds the consumer, no
 * bytes are read, the socket's window fills, and the client waits; memory stays at the
 * connection's fixed buffer whatever the body size.
 *
 * Each pull hands out every payload byte already buffered (many small chunks at once) or
 * reads the socket once; a consumer with a BYOB reader gets the bytes in its own buffer,
 * straight from the socket when the body has a `Content-Length`. The first pull sends
 * `100 Continue` when the client asked for it.
 */
import { ioBuffer } from "../../../drivers/io_buffer.ts";
import { ChunkedDecoder } from "./chunked.ts";
import type { Deadline } from "./deadline.ts";
import { ConnectionClosedError } from "./errors.ts";
import type { BodyFraming } from "./parse.ts";
import type { ConnReader } from "./reader.ts";

/** Buffer size for consumers that read without their own buffer (default readers). */
export const BODY_CHUNK = 128 * 1024;

/** Options of {@linkcode RequestBody}. */
export interface BodyOptions {
  /** Runs once, before the body's first socket read (sends `100 Continue`). */
  beforeRead?: () => Promise<void>;
  /** The connection's deadline, moved before every socket read of the body. */
  deadline: Deadline;
  /** How long one socket read may wait for bytes. */
  timeoutMs: number;
}

/** Where a body stands: not pulled yet, being read, or settled one of three ways. */
export type BodyState = "unread" | "reading" | "ended" | "cancelled" | "failed";

/** A chunk with at least this much left is read from the socket without the buffer. */
const DIRECT_READ = 32 * 1024;
/** Discarded bodies are decoded into this; its contents are never read. */
const SCRATCH = new Uint8Array(64 * 1024);

/** The body of one request. */
export class RequestBody {
  /** The bytes, as a stream of type `bytes` (BYOB readers welcome). */
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves once the body ended, was cancelled or failed. */
  readonly settled: Promise<void>;
  readonly #reader: ConnReader;
  readonly #options: BodyOptions;
  readonly #decoder: ChunkedDecoder | null;
  #left: number;
  #state: BodyState = "unread";
  #pulling = false;
  #continued = false;
  #settle!: () => void;

  constructor(
    reader: ConnReader,
    framing: BodyFraming & { kind: "length" | "chunked" },
    options: BodyOptions,
  ) {
    this.#reader = reader;
    this.#options = options;
    this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder() : null;
    this.#left = framing.kind === "length" ? framing.length : Infinity;
    this.settled = new Promise((resolve) => this.#settle = resolve);
    this.stream = new ReadableStream({
      type: "bytes",
      pull: (controller) => this.#pull(controller),
      cancel: () => {
        if (this.#state === "unread" || this.#state === "reading") this.#finish("cancelled");
      },
    });
  }

  /** Where the body stands. */
  get state(): BodyState {
    return this.#state;
  }

  /** True when `100 Continue` was asked for but never sent: the client holds the body back. */
  get heldBack(): boolean {
    return this.#options.beforeRead !== undefined && !this.#continued;
  }

  /**
   * Reads and drops what is left of the body, at most `max` bytes, so the connection can
   * carry the next request. True when the body ended within the limit.
   */
  async discard(max: number): Promise<boolean> {
    if (this.#state === "ended") return true;
    if (this.#state === "failed" || this.#pulling || this.heldBack) return false;
    let dropped = 0;
    try {
      while (!this.#ended) {
        if (dropped > max) return false;
        dropped += await this.#next(SCRATCH);
      }
    } catch {
      this.#finish("failed");
      return false;
    }
    this.#finish("ended");
    return true;
  }

  get #ended(): boolean {
    return this.#decoder ? this.#decoder.done : this.#left === 0;
  }

  async #pull(controller: ReadableByteStreamController): Promise<void> {
    const request = controller.byobRequest;
    const given = request?.view;
    const view = given
      ? new Uint8Array(given.buffer, given.byteOffset, given.byteLength)
      // A default reader's buffer, one per read: no larger than a body of known length.
      : ioBuffer(Math.max(1, Math.min(BODY_CHUNK, this.#left)));
    if (this.#state === "unread") this.#state = "reading";
    this.#pulling = true;
    let n: number;
    try {
      n = await this.#next(view);
    } catch (err) {
      this.#finish("failed");
      throw err;
    } finally {
      this.#pulling = false;
    }
    if (this.#state !== "reading") return; // cancelled meanwhile
    if (n > 0) {
      if (request) request.respond(n);
      else controller.enqueue(view.subarray(0, n));
    }
    if (this.#ended) {
      this.#finish("ended");
      controller.close();
      if (n === 0) request?.respond(0);
    }
  }

  /** Puts the next payload bytes into `view`; 0 only when the body has ended. */
  async #next(view: Uint8Array): Promise<number> {
    const reader = this.#reader;
    if (!this.#decoder) {
      if (this.#left === 0) return 0;
      const want = view.subarray(0, Math.min(view.length, this.#left));
      if (reader.size === 0) await this.#beforeSocket();
      const n = await this.#timed(reader.readInto(want));
      if (n === 0) throw new ConnectionClosedError();
      this.#left -= n;
      return n;
    }
    const decoder = this.#decoder;
    if (reader.size === 0 && decoder.dataLeft >= DIRECT_READ) {
      // The middle of a large chunk: straight from the socket, as for a Content-Length.
      await this.#beforeSocket();
      const want = view.subarray(0, Math.min(view.length, decoder.dataLeft));
      const n = await this.#timed(reader.readInto(want));
      if (n === 0) throw new ConnectionClosedError();
      decoder.tookData(n);
      return n;
    }
    let written = 0;
    while (!decoder.done) {
      if (reader.size > 0) {
        reader.consume(decoder.decode(reader.bytes, view.subarray(written)));
        written += decoder.written;
        if (written > 0 || decoder.done) break;
      }
      await this.#beforeSocket();
      if (!await this.#timed(reader.fill())) throw new ConnectionClosedError();
    }
    return written;
  }

  async #beforeSocket(): Promise<void> {
    if (this.#continued) return;
    this.#continued = true;
    await this.#options.beforeRead?.();
  }

  async #timed<T>(read: Promise<T>): Promise<T> {
    const { deadline, timeoutMs } = this.#options;
    deadline.set(timeoutMs);
    try {
      return await read;
    } finally {
      deadline.set(null);
    }
  }

  #finish(state: "ended" | "cancelled" | "failed"): void {
    if (this.#state === "ended" || this.#state === "failed") return;
    this.#state = state;
    this.#settle();
  }
}
