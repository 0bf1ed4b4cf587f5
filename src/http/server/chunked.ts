/**
 * @module
 * The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded incrementally:
 * bytes go in as they arrive from the socket, payload comes out into a caller's buffer, and
 * a chunk split across reads, or many chunks in one read, cost the same per byte. Nothing is
 * buffered here: a line that has not fully arrived stays in the caller's buffer.
 *
 * Hostile input is refused with a 400 (431 for oversized trailers): a chunk size that is not
 * hex, is empty or exceeds 2^52, a chunk-size line longer than 4 KiB, data not followed by
 * CRLF, bare LFs, and control characters in extensions or trailer fields.
 */
import { HttpError } from "./errors.ts";

/** Longest chunk-size line (size and extensions) accepted. */
export const MAX_CHUNK_LINE = 4096;
/** Largest trailer section accepted (the fields after the last chunk). */
export const MAX_TRAILER_BYTES = 16 * 1024;
/** Chunk sizes beyond 13 significant hex digits (2^52) are refused. */
const MAX_SIZE_DIGITS = 13;

/** Where the decoder is: in a chunk-size line, a chunk's data, its CRLF, the trailers. */
const State = { Size: 0, Data: 1, DataEnd: 2, Trailer: 3, Done: 4 } as const;
type State = typeof State[keyof typeof State];

/** Decodes one chunked body. */
export class ChunkedDecoder {
  #state: State = State.Size;
  #left = 0;
  #trailerBytes = 0;
  /** Payload bytes the last {@linkcode decode} wrote. */
  written = 0;

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Payload bytes left in the current chunk (0 between chunks). */
  get dataLeft(): number {
    return this.#state === State.Data ? this.#left : 0;
  }

  /**
   * Accounts for `n` payload bytes of the current chunk that the caller read itself
   * (straight from the socket into its buffer); `n` is at most {@linkcode dataLeft}.
   */
  tookData(n: number): void {
    if (n > this.dataLeft) throw new RangeError(`${n} bytes exceed the chunk's ${this.#left}`);
    this.#left -= n;
    if (this.#left === 0) this.#state = State.DataEnd;
  }

  /**
   * Decodes from `src` into `dst` until `dst` is full, the body ends, or `src` ends (or holds
   * only part of a line). Returns how many bytes of `src` it used; {@linkcode written} says
   * how many payload bytes went into `dst`. Bytes after the body's end are left unused.
   */
  decode(src: Uint8Array, dst: Uint8Array): number {
    let at = 0;
    let out = 0;
    while (this.#state !== State.Done) {
      if (this.#state === State.Data) {
        const take = Math.min(this.#left, src.length - at, dst.length - out);
        if (take === 0) break;
        dst.set(src.subarray(at, at + take), out);
        at += take;
        out += take;
        this.#left -= take;
        if (this.#left === 0) this.#state = State.DataEnd;
        continue;
      }
      if (this.#state === State.DataEnd) {
        if (src.length - at < 2) break;
        if (src[at] !== 13 || src[at + 1] !== 10) {
          throw new HttpError(400, "A chunk's data is not followed by CRLF");
        }
        at += 2;
        this.#state = State.Size;
        continue;
      }
      const lf = src.indexOf(10, at);
      const limit = this.#state === State.Size
        ? MAX_CHUNK_LINE
        : MAX_TRAILER_BYTES - this.#trailerBytes;
      if (lf === -1 || lf - at > limit) {
        if (src.length - at <= limit) break;
        throw this.#state === State.Size
          ? new HttpError(400, `A chunk-size line is longer than ${MAX_CHUNK_LINE} bytes`)
          : new HttpError(431, `The trailer fields exceed ${MAX_TRAILER_BYTES} bytes`);
      }
      if (lf === at || src[lf - 1] !== 13) {
        throw new HttpError(400, "A line of the chunked body ends in a bare LF");
      }
      const line = src.subarray(at, lf - 1);
      at = lf + 1;
      if (this.#state === State.Size) {
        this.#left = chunkSize(line);
        this.#state = this.#left === 0 ? State.Trailer : State.Data;
      } else if (line.length === 0) {
        this.#state = State.Done;
      } else {
        this.#trailerBytes += line.length + 2;
        checkTrailer(line);
      }
    }
    this.written = out;
    return at;
  }
}

/** The size on a chunk-size line: hex digits, then nothing or `;` extensions. */
function chunkSize(line: Uint8Array): number {
  let size = 0;
  let digits = 0;
  let significant = 0;
  let i = 0;
  for (; i < line.length; i++) {
    const d = hexValue(line[i]);
    if (d < 0) break;
    digits++;
    if (significant > 0 || d > 0) significant++;
    if (significant > MAX_SIZE_DIGITS) {
      throw new HttpError(400, "A chunk size exceeds 2^52 bytes");
    }
    size = size * 16 + d;
  }
  if (digits === 0) throw new HttpError(400, `Chunk size "${show(line)}" is not hexadecimal`);
  while (i < line.length && (line[i] === 32 || line[i] === 9)) i++;
  if (i < line.length && line[i] !== 59) {
    throw new HttpError(400, `Chunk size "${show(line)}" is not hexadecimal`);
  }
  for (; i < line.length; i++) {
    if (isControl(line[i])) {
      throw new HttpError(400, "A chunk extension holds a control character");
    }
  }
  return size;
}

/** A trailer field must look like a field (`name:value`) without control characters. */
function checkTrailer(line: Uint8Array): void {
  const colon = line.indexOf(58);
  if (colon <= 0 || line[0] === 32 || line[0] === 9) {
    throw new HttpError(400, `Trailer field "${show(line)}" is malformed`);
  }
  for (let i = 0; i < line.length; i++) {
    if (isControl(line[i])) {
      throw new HttpError(400, "A trailer field holds a control character");
    }
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function isControl(c: number): boolean {
  return (c < 32 && c !== 9) || c === 127;
}

function show(line: Uint8Array): string {
  const text = String.fromCharCode(...line.subarray(0, 40)).replace(/[^\x20-\x7e]/g, "?");
  return line.length > 40 ? `${text}...` : text;
}
