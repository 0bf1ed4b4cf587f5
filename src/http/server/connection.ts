/**
 * @module
 * One HTTP/1.1 connection: requests read one at a time (pipelined ones wait in the buffer,
 * answered in order), each handed to the fetch-shaped handler as a web `Request` whose body
 * streams from the socket, and its `Response` written back before the next request is read.
 *
 * Lifetimes: an idle connection closes after `idleTimeoutMs`; a head must arrive within
 * `headTimeoutMs` of its first byte (slowloris); a body read or a response write that makes
 * no progress for `ioTimeoutMs` ends the connection. A client that hangs up aborts the
 * request's `signal` (noticed by a bounded look-ahead read once the body has been read),
 * errors its body stream and cancels a response body still being sent. An unread body is
 * drained up to 256 KiB to keep the connection; beyond that the connection closes after
 * the response, lingering briefly so the client reads the response instead of a reset.
 */
import { RequestBody } from "./body.ts";
import { Deadline } from "./deadline.ts";
import { HttpError } from "./errors.ts";
import {
  type Framing,
  framing,
  HeadScanner,
  MAX_HEAD_BYTES,
  parseHead,
  type RequestHead,
} from "./parse.ts";
import { ConnReader } from "./reader.ts";
import { CONTINUE, plainResponse, writeResponse } from "./respond.ts";

/** The application: a web `Request` in, a `Response` out (as `Deno.serve` calls it). */
export type Handler = (
  request: Request,
  info: { remoteAddr: Deno.Addr },
) => Response | Promise<Response>;

/** Timeouts of a connection, in milliseconds. */
export interface Timeouts {
  /** Between requests on a kept-alive connection. */
  idleTimeoutMs: number;
  /** From a head's first byte to its end. */
  headTimeoutMs: number;
  /** One body read or response write without progress. */
  ioTimeoutMs: number;
}

/** Options of {@linkcode Connection}. */
export interface ConnectionOptions extends Timeouts {
  handler: Handler;
  /** `http` or `https`, for request URLs. */
  scheme: "http" | "https";
  /** Host for request URLs when the client sent none (HTTP/1.0). */
  defaultHost: string;
  /** Unexpected failures (a handler that throws): logged by the caller. */
  onError?: (error: unknown) => void;
}

/** The subset of `Deno.Conn` a connection uses. */
export interface Conn {
  readonly remoteAddr: Deno.Addr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** Largest unread body drained to keep a connection open. */
const DRAIN_LIMIT = 256 * 1024;
/** How long a closing connection keeps reading what the client still sends. */
const LINGER_MS = 2000;
const LINGER_BYTES = 16 << 20;
/** Methods the fetch `Request` refuses to carry. */
const FORBIDDEN_METHODS = /^(CONNECT|TRACE|TRACK)$/i;

/** Serves the requests of one connection. */
export class Connection {
  readonly #conn: Conn;
  readonly #options: ConnectionOptions;
  readonly #reader: ConnReader;
  readonly #deadline: Deadline;
  #closing = false;
  #idle = true;
  #closed = false;

  constructor(conn: Conn, options: ConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#reader = new ConnReader(conn);
    this.#deadline = new Deadline(() => this.#close());
  }

  /** Closes the connection now, whatever it is doing (a drain that ran out of time). */
  abort(): void {
    this.#close();
  }

  /** Asks the connection to close: now when idle, else after the response in flight. */
  shutdown(): void {
    this.#closing = true;
    if (this.#idle) this.#close();
  }

  /** Serves requests until the client or {@linkcode shutdown} ends the connection. */
  async serve(): Promise<void> {
    try {
      while (!this.#closing) {
        let head: RequestHead | null;
        try {
          head = await this.#readHead();
        } catch (err) {
          if (err instanceof HttpError) await this.#refuse(err);
          break;
        }
        if (!head || !await this.#exchange(head)) break;
      }
    } catch (err) {
      // A socket that fails mid-response just ends the connection.
      if (!this.#closed && !isSocketError(err)) this.#options.onError?.(err);
    } finally {
      this.#deadline.dispose();
      this.#close();
      await this.#reader.release();
    }
  }

  /** Waits for the next request head; null when the connection ends before one. */
  async #readHead(): Promise<RequestHead | null> {
    const reader = this.#reader;
    this.#idle = true;
    this.#deadline.set(this.#options.idleTimeoutMs);
    while (true) {
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      while (reader.size >= 2 && reader.bytes[0] === 13 && reader.bytes[1] === 10) {
        reader.consume(2);
      }
      if (reader.size > 1 || (reader.size === 1 && reader.bytes[0] !== 13)) break;
      if (this.#closing || !await reader.fill()) return null;
    }
    this.#idle = false;
    this.#deadline.set(this.#options.headTimeoutMs);
    const scanner = new HeadScanner();
    while (true) {
      const end = scanner.scan(reader.bytes);
      if (end !== -1) {
        if (end > MAX_HEAD_BYTES) throw tooLarge();
        const head = parseHead(reader.bytes.subarray(0, end));
        reader.consume(end);
        this.#deadline.set(null);
        return head;
      }
      if (reader.size >= MAX_HEAD_BYTES) throw tooLarge();
      if (!await reader.fill()) return null;
    }
  }

  /** Handles one request; resolves whether the connection carries another. */
  async #exchange(head: RequestHead): Promise<boolean> {
    let frame: Framing;
    try {
      frame = framing(head);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      await this.#refuse(err);
      return false;
    }
    if (head.target === "*" && head.method === "OPTIONS") {
      await this.#write(plainResponse(200, "", frame.keepAlive && !this.#closing));
      return frame.keepAlive && frame.body.kind === "none";
    }
    if (FORBIDDEN_METHODS.test(head.method)) {
      await this.#refuse(new HttpError(501, `${head.method} is not supported`));
      return false;
    }
    const url = this.#url(head, frame);
    if (url === null) {
      const target = head.target.slice(0, 80);
      await this.#refuse(new HttpError(400, `The request target "${target}" is invalid`));
      return false;
    }
    const body = frame.body.kind === "none" ? null : new RequestBody(this.#reader, frame.body, {
      beforeRead: frame.expectContinue ? () => this.#write(CONTINUE) : undefined,
      deadline: this.#deadline,
      timeoutMs: this.#options.ioTimeoutMs,
    });
    const aborter = new AbortController();
    const bodyless = /^(GET|HEAD)$/i.test(head.method);
    let request: Request;
    try {
      request = new Request(url, {
        method: head.method,
        headers: head.headers,
        body: bodyless ? null : body?.stream,
        signal: aborter.signal,
      });
    } catch (err) {
      await this.#refuse(new HttpError(400, `The request is invalid: ${(err as Error).message}`));
      return false;
    }
    let responded = false;
    void this.#watchHangUp(body, aborter, () => responded);
    let response: Response;
    let keepAlive = frame.keepAlive;
    try {
      response = await this.#options.handler(request, { remoteAddr: this.#conn.remoteAddr });
      if (!(response instanceof Response)) throw new TypeError("The handler returned no Response");
    } catch (err) {
      // A broken body read by the handler is the client's fault, and says so.
      if (err instanceof HttpError) {
        response = new Response(`${err.message}\n`, { status: err.status });
        keepAlive = false;
      } else {
        this.#options.onError?.(err);
        response = new Response("Internal Server Error\n", { status: 500 });
      }
    }
    keepAlive &&= !this.#closing && !this.#reader.eof;
    if (
      body && body.state !== "ended" &&
      (body.heldBack || frame.body.kind === "length" && frame.body.length > DRAIN_LIMIT)
    ) {
      keepAlive = false;
    }
    try {
      keepAlive = await writeResponse(this.#conn, response, {
        head: request.method === "HEAD",
        minor: head.minor,
        keepAlive,
        deadline: this.#deadline,
        timeoutMs: this.#options.ioTimeoutMs,
        signal: aborter.signal,
      }) && keepAlive;
    } finally {
      responded = true;
    }
    if (body && body.state !== "ended") {
      if (keepAlive && await body.discard(DRAIN_LIMIT)) return !this.#closing;
      await this.#linger();
      return false;
    }
    return keepAlive && !this.#closing;
  }

  /** The request's URL, or null when the target or `Host` make none. */
  #url(head: RequestHead, frame: Framing): string | null {
    const target = head.target;
    if (target.startsWith("/")) {
      const host = frame.host || this.#options.defaultHost;
      return `${this.#options.scheme}://${host}${target}`;
    }
    if (!/^https?:\/\//i.test(target)) return null;
    try {
      return new URL(target).href;
    } catch {
      return null;
    }
  }

  /**
   * Notices a client hanging up while its request is handled: once the body has been read
   * (or there is none), reads ahead into the connection's buffer (bounded: pipelined
   * requests wait there) and aborts the request's signal at the end of the stream.
   */
  async #watchHangUp(
    body: RequestBody | null,
    aborter: AbortController,
    responded: () => boolean,
  ): Promise<void> {
    if (body) {
      await body.settled;
      if (body.state !== "ended") {
        if (this.#reader.eof && !responded()) aborter.abort(hangUpReason());
        return;
      }
    }
    const reader = this.#reader;
    while (!responded() && !reader.full && !reader.eof) {
      await reader.fill();
    }
    if (reader.eof && !responded()) aborter.abort(hangUpReason());
  }

  /** Answers a request the listener refuses, then the connection closes. */
  async #refuse(err: HttpError): Promise<void> {
    await this.#write(plainResponse(err.status, err.message)).catch(() => {});
    await this.#linger();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#deadline.set(this.#options.ioTimeoutMs);
    try {
      for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
    } finally {
      this.#deadline.set(null);
    }
  }

  /**
   * Closes the sending side, then reads and drops what the client still sends for a short
   * while, so the response is not lost to a reset when unread request bytes remain.
   */
  async #linger(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    this.#deadline.set(LINGER_MS);
    const reader = this.#reader;
    let dropped = 0;
    while (dropped < LINGER_BYTES) {
      dropped += reader.size;
      reader.consume(reader.size);
      if (!await reader.fill()) break;
    }
    this.#deadline.set(null);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer's reset or a timeout.
    }
  }
}

function tooLarge(): HttpError {
  return new HttpError(431, `The request head exceeds ${MAX_HEAD_BYTES} bytes`);
}

function hangUpReason(): Error {
  return new DOMException("The client closed the connection", "AbortError");
}

/** Errors of a socket the peer closed or reset, or that a timeout closed. */
function isSocketError(err: unknown): boolean {
  return err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.NotConnected || err instanceof Deno.errors.ConnectionAborted;
}
