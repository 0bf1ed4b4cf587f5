/**
 * @module
 * The error Berth's HTTP/1.1 listener raises for a request it cannot accept at the protocol
 * level (a malformed head, ambiguous framing, a broken chunked body). It carries the status
 * the listener answers with; the connection always closes afterwards, since the byte stream
 * can no longer be trusted to be cut into requests correctly.
 *
 * Its `name` is `Http`, the name of Deno's own `Deno.errors.Http`, so code that reads a
 * request body (the application's error boundary) treats a broken body read through either
 * server alike.
 */

/** A protocol-level failure answered with `status` and then a closed connection. */
export class HttpError extends Error {
  /** 400, 408, 413, 414, 417, 431, 501 or 505. */
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = "Http";
    this.status = status;
  }
}

/** The connection ended (or was reset) before a request was complete. */
export class ConnectionClosedError extends Error {
  constructor(message = "The connection closed before the request body ended") {
    super(message);
    this.name = "Http";
  }
}
