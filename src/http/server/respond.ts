/**
 * @module
 * Writing a web `Response` to an HTTP/1.1 connection: the status line and fields, then the
 * body framed by `Content-Length` (the handler's, checked against the bytes) or, when the
 * length is unknown, chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0).
 *
 * Small bodies go out in the same write as the head. Large ones stream: a byte stream is
 * read with a BYOB reader into two pooled 1 MiB buffers, one filling while the other is
 * written, so a blob pull allocates nothing per chunk and disk reads overlap socket writes.
 */
import { BufferPool, ioView } from "../../../drivers/io_buffer.ts";
import type { Deadline } from "./deadline.ts";
import { REASONS } from "../reasons.ts";

/** What the writer needs of a connection. */
export interface WritableConn {
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode writeResponse}. */
export interface WriteOptions {
  /** The request was `HEAD`: fields only, whatever the response carries. */
  head: boolean;
  /** The request's HTTP minor version. */
  minor: 0 | 1;
  /** Whether the connection may stay open, as far as the request goes. */
  keepAlive: boolean;
  /** The connection's deadline, moved before every write. */
  deadline: Deadline;
  /** How long one write may wait for the client to take bytes. */
  timeoutMs: number;
  /**
   * Aborted when the client hangs up: a body still waiting for its source stops being
   * read (its stream is cancelled), so a stalled source never holds the connection.
   */
  signal?: AbortSignal;
}

/** Bodies up to this size (by `Content-Length`) are sent with the head in one write. */
const SMALL_BODY = 64 * 1024;
/** Buffers of BYOB reads for streamed bodies. */
const POOL = new BufferPool(1 << 20, 4);
/** Fields the connection owns: the handler's values are replaced or dropped. */
const OWN = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"]);
const ENCODER = new TextEncoder();

/**
 * Writes `response` to `conn`. Resolves whether the connection can carry another request
 * (false when the handler asked to close, the framing needed the close, or the body did
 * not match its `Content-Length`). Rejects when the connection fails.
 */
export async function writeResponse(
  conn: WritableConn,
  response: Response,
  options: WriteOptions,
): Promise<boolean> {
  const status = response.status;
  const fields = response.headers;
  let keepAlive = options.keepAlive &&
    !/(^|,)\s*close\s*(,|$)/i.test(fields.get("connection") ?? "");
  const declared = parseLength(fields.get("content-length"));
  const send = (head: string, body?: Uint8Array) => write(conn, joined(head, body), options);
  const headOf = (framing: string) =>
    responseHead(status, fields, framing, keepAlive, options.minor);

  if (options.head || status < 200 || status === 204 || status === 304) {
    if (!response.bodyUsed) response.body?.cancel().catch(() => {});
    const framing = status === 204 || status < 200 || declared === null
      ? ""
      : `content-length: ${declared}\r\n`;
    await send(headOf(framing));
    return keepAlive;
  }
  if (declared !== null && declared <= SMALL_BODY) {
    const bytes = await response.bytes();
    await send(headOf(`content-length: ${bytes.length}\r\n`), bytes);
    return keepAlive;
  }
  const body = response.body;
  if (body === null) {
    await send(headOf("content-length: 0\r\n"));
    return keepAlive;
  }
  if (declared === null && options.minor === 0) keepAlive = false;
  const framing = declared !== null
    ? `content-length: ${declared}\r\n`
    : options.minor === 1
    ? "transfer-encoding: chunked\r\n"
    : "";
  await send(headOf(framing));
  const whole = await streamBody(conn, body, declared, options);
  return keepAlive && whole;
}

/**
 * Streams `body` after the head: exactly `length` bytes, or chunked (`length` null on
 * HTTP/1.1), or raw until the close (HTTP/1.0). False when the body did not match its
 * declared length; the connection must then close, which tells the client.
 */
async function streamBody(
  conn: WritableConn,
  body: ReadableStream<Uint8Array>,
  length: number | null,
  options: WriteOptions,
): Promise<boolean> {
  const chunked = length === null && options.minor === 1;
  let left = length ?? Infinity;
  let overflow = false;
  /** Writes one chunk; false once the body exceeded its length (the rest is not sent). */
  const emit = async (chunk: Uint8Array): Promise<boolean> => {
    if (chunk.length === 0) return true;
    if (chunk.length > left) {
      chunk = chunk.subarray(0, left);
      overflow = true;
    }
    left -= chunk.length;
    if (chunked) {
      await write(conn, ENCODER.encode(`${chunk.length.toString(16)}\r\n`), options);
      await write(conn, chunk, options);
      await write(conn, CRLF, options);
    } else if (chunk.length) await write(conn, chunk, options);
    return !overflow;
  };
  const byob = byobReader(body);
  const reader = byob ?? body.getReader();
  const signal = options.signal;
  const hangUp = () => void reader.cancel(signal?.reason).catch(() => {});
  if (signal?.aborted) hangUp();
  signal?.addEventListener("abort", hangUp, { once: true });
  try {
    if (byob) await pumpBytes(byob, emit);
    else await pump(reader as ReadableStreamDefaultReader<Uint8Array>, emit);
  } finally {
    signal?.removeEventListener("abort", hangUp);
  }
  // Cut off by a hang-up: no last chunk, so nothing looks whole.
  if (signal?.aborted) return false;
  if (chunked) await write(conn, LAST_CHUNK, options);
  return !overflow && (length === null ? chunked : left === 0);
}

/** A BYOB reader of `body`, or null when it is not a byte stream. */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | null {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return null;
  }
}

/**
 * Reads a byte stream into pooled buffers, one read ahead of the write, until it ends or
 * `emit` says stop; cancels the stream when it stops early or a write fails.
 */
async function pumpBytes(
  reader: ReadableStreamBYOBReader,
  emit: (chunk: Uint8Array) => Promise<boolean>,
): Promise<void> {
  let spare = POOL.take();
  let next = reader.read(POOL.take());
  let ended = false;
  try {
    while (true) {
      const { done, value } = await next;
      if (done) {
        ended = true;
        POOL.give(value);
        return;
      }
      next = reader.read(spare);
      next.catch(() => {}); // abandoned when the write below fails: never unhandled
      const more = await emit(value);
      spare = ioView(value.buffer);
      if (!more) return;
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
    POOL.give(spare);
    reader.releaseLock();
  }
}

/** Reads a stream chunk by chunk until it ends or `emit` says stop; cancels it early. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  emit: (chunk: Uint8Array) => Promise<boolean>,
): Promise<void> {
  let ended = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        return;
      }
      if (!await emit(value)) return;
    }
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = ENCODER.encode("0\r\n\r\n");

/**
 * A minimal response the listener itself sends (protocol errors, `OPTIONS *`): plain text,
 * closing the connection unless `keepAlive`.
 */
export function plainResponse(status: number, message: string, keepAlive = false): Uint8Array {
  const body = ENCODER.encode(message ? `${message}\n` : "");
  const fields = new Headers({ "content-type": "text/plain; charset=utf-8" });
  return joined(
    responseHead(status, fields, `content-length: ${body.length}\r\n`, keepAlive, 1),
    body,
  );
}

/** The `100 Continue` interim response. */
export const CONTINUE: Uint8Array = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** Writes all of `bytes`, moving the deadline first. */
async function write(conn: WritableConn, bytes: Uint8Array, options: WriteOptions) {
  options.deadline.set(options.timeoutMs);
  try {
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
  } finally {
    options.deadline.set(null);
  }
}

function responseHead(
  status: number,
  fields: Headers,
  framing: string,
  keepAlive: boolean,
  minor: 0 | 1,
): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\n`;
  let dated = false;
  // forEach, not for-of: Deno's Headers iterator allocates several times as much.
  fields.forEach((value, name) => {
    if (OWN.has(name)) return;
    if (name === "date") dated = true;
    head += `${name}: ${value}\r\n`;
  });
  if (!dated) head += `date: ${httpDate()}\r\n`;
  if (!keepAlive) head += "connection: close\r\n";
  else if (minor === 0) head += "connection: keep-alive\r\n";
  return head + framing + "\r\n";
}

/** The head's text (ISO-8859-1: field values are byte strings) and the body in one buffer. */
function joined(head: string, body?: Uint8Array): Uint8Array {
  const bodyLength = body?.length ?? 0;
  const out = new Uint8Array(head.length + bodyLength);
  if (!/[\u0080-\uffff]/.test(head)) ENCODER.encodeInto(head, out);
  else for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  if (body) out.set(body, head.length);
  return out;
}

function parseLength(value: string | null): number | null {
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

let dateText = "";
let dateSecond = 0;

/** The `Date` field value, computed at most once a second. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}
