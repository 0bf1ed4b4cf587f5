/**
 * @module
 * Request heads of HTTP/1.1 (RFC 9112): finding where a head ends in the bytes read so far,
 * parsing its request line and header fields, and deciding how the body is framed and
 * whether the connection stays open. Everything here is pure; hostile input becomes an
 * {@linkcode HttpError} with the status the listener answers.
 *
 * Strictness, in the spirit of RFC 9112 §2.2 and §11 (request smuggling): lines end in CRLF
 * (a bare LF or CR is a 400), no obsolete line folding, no whitespace between a field name
 * and its colon, no control characters in values, and a body length that can be read one
 * way only: `Transfer-Encoding` together with `Content-Length`, conflicting lengths, a
 * transfer coding other than a single final `chunked`, or `Transfer-Encoding` on HTTP/1.0
 * are refused.
 */
import { HttpError } from "./errors.ts";

/** Largest request head (request line and fields) accepted; larger is a 431. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Most header fields accepted in one head; more is a 431. */
export const MAX_HEADERS = 100;

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form `/path?query`, or absolute-form). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x). */
  minor: 0 | 1;
  /** Fields in order, names lower-cased, values without surrounding whitespace. */
  headers: [string, string][];
}

/** How the body of a request is delimited. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** What the head says about the exchange beyond its fields. */
export interface Framing {
  body: BodyFraming;
  /** True when the client allows the connection to carry another request. */
  keepAlive: boolean;
  /** `Expect: 100-continue` on HTTP/1.1: the client waits before it sends the body. */
  expectContinue: boolean;
  /** The `Host` field, or null when absent (HTTP/1.0). */
  host: string | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
/** Control characters other than HTAB (a bare CR among them), which no field may hold. */
// deno-lint-ignore no-control-regex
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** A `Host`: reg-name, IPv4 or a bracketed IPv6 literal, and an optional port. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(:\d{0,5})?$/;

/**
 * Finds the end of a request head as bytes arrive, scanning each byte once however the
 * head is split across reads (a slowloris client sending one byte at a time costs no more).
 */
export class HeadScanner {
  #lineStart = 0;
  #scanned = 0;

  /**
   * Looks for the empty line ending the head in `bytes` (the head's bytes from its first
   * byte, as much as has arrived). Returns the head's length through that line, or -1.
   * Throws a 400 on a line ending in a bare LF.
   */
  scan(bytes: Uint8Array): number {
    let lf = bytes.indexOf(10, this.#scanned);
    while (lf !== -1) {
      if (lf === 0 || bytes[lf - 1] !== 13) {
        throw new HttpError(400, "A line of the request head ends in a bare LF");
      }
      if (lf - 1 === this.#lineStart) return lf + 1;
      this.#lineStart = lf + 1;
      lf = bytes.indexOf(10, lf + 1);
    }
    this.#scanned = bytes.length;
    return -1;
  }
}

/** Parses a complete head (through its empty line) found by {@linkcode HeadScanner}. */
export function parseHead(bytes: Uint8Array): RequestHead {
  const lines = latin1(bytes.subarray(0, bytes.length - 4)).split("\r\n");
  const line = lines[0];
  const m = REQUEST_LINE.exec(line);
  if (!m) throw new HttpError(400, `The request line "${clip(line)}" is malformed`);
  if (m[3] !== "1") {
    throw new HttpError(505, `HTTP/${m[3]}.${m[4]} is not supported; use HTTP/1.1`);
  }
  if (lines.length - 1 > MAX_HEADERS) {
    throw new HttpError(
      431,
      `The request has ${lines.length - 1} header fields; at most ${MAX_HEADERS} are accepted`,
    );
  }
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const field = lines[i];
    if (CTL.test(field)) {
      throw new HttpError(400, `Header field "${clip(field)}" holds a control character`);
    }
    const colon = field.indexOf(":");
    const name = colon > 0 ? field.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new HttpError(
        400,
        field[0] === " " || field[0] === "\t"
          ? "Header fields may not be folded over several lines"
          : `Header field "${clip(field)}" is malformed`,
      );
    }
    headers.push([name.toLowerCase(), field.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "")]);
  }
  return { method: m[1], target: m[2], minor: m[4] === "0" ? 0 : 1, headers };
}

/** Decides the body framing and connection handling of a parsed head. */
export function framing(head: RequestHead): Framing {
  const hosts: string[] = [];
  const lengths: string[] = [];
  const codings: string[] = [];
  const connection: string[] = [];
  let expect: string | null = null;
  let sawCodings = false;
  for (const [name, value] of head.headers) {
    switch (name) {
      case "host":
        hosts.push(value);
        break;
      case "content-length":
        lengths.push(...value.split(","));
        break;
      case "transfer-encoding":
        sawCodings = true;
        codings.push(...value.split(","));
        break;
      case "connection":
        connection.push(...value.toLowerCase().split(","));
        break;
      case "expect":
        expect = expect === null ? value : `${expect}, ${value}`;
        break;
    }
  }
  if (hosts.length > 1) throw new HttpError(400, "The request has more than one Host field");
  if (head.minor === 1 && hosts.length === 0) {
    throw new HttpError(400, "An HTTP/1.1 request needs a Host field");
  }
  const host = hosts[0] ?? null;
  if (host !== null && !HOST.test(host)) {
    throw new HttpError(400, `Host "${clip(host)}" is not a valid host`);
  }
  const tokens = new Set(connection.map((t) => t.trim()));
  const keepAlive = head.minor === 1 ? !tokens.has("close") : tokens.has("keep-alive");
  let expectContinue = false;
  if (expect !== null) {
    if (expect.toLowerCase() !== "100-continue") {
      throw new HttpError(417, `Expect "${clip(expect)}" cannot be met; only 100-continue is`);
    }
    expectContinue = head.minor === 1;
  }
  return { body: bodyFraming(head, sawCodings, codings, lengths), keepAlive, expectContinue, host };
}

function bodyFraming(
  head: RequestHead,
  sawCodings: boolean,
  codings: string[],
  lengths: string[],
): BodyFraming {
  if (sawCodings) {
    if (lengths.length) {
      throw new HttpError(400, "The request has both Transfer-Encoding and Content-Length");
    }
    if (head.minor === 0) {
      throw new HttpError(400, "Transfer-Encoding is not allowed in an HTTP/1.0 request");
    }
    const list = codings.map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
    if (list[list.length - 1] !== "chunked" || list.indexOf("chunked") !== list.length - 1) {
      throw new HttpError(
        400,
        `Transfer-Encoding "${clip(codings.join(","))}" does not end in one chunked coding`,
      );
    }
    if (list.length > 1) {
      throw new HttpError(501, `Transfer-Encoding "${clip(codings.join(","))}" is not supported`);
    }
    return { kind: "chunked" };
  }
  if (!lengths.length) return { kind: "none" };
  const values = new Set(lengths.map((v) => v.trim()));
  if (values.size > 1) {
    throw new HttpError(400, `Content-Length values "${clip(lengths.join(","))}" conflict`);
  }
  const [value] = values;
  if (!/^\d{1,15}$/.test(value)) {
    throw new HttpError(400, `Content-Length "${clip(value)}" is not a valid length`);
  }
  const length = Number(value);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}

/** Bytes as a string of the same code units (ISO-8859-1), as header values are ByteStrings. */
function latin1(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return DECODER.decode(bytes);
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

const DECODER = new TextDecoder();

/** A value quoted in an error message, cut to a readable length. */
function clip(value: string): string {
  // deno-lint-ignore no-control-regex
  const printable = value.replace(/[\x00-\x1f\x7f]/g, "?");
  return printable.length > 80 ? `${printable.slice(0, 80)}...` : printable;
}
