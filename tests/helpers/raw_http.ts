/**
 * @module
 * A raw HTTP/1.1 client over a TCP socket, for tests that must send exactly the bytes they
 * mean (malformed heads, pipelined requests, chunked bodies cut anywhere) and read exactly
 * what the server answers, byte by byte, including interim `100 Continue` responses.
 */

/** One response as read off the wire. */
export interface RawResponse {
  status: number;
  /** Field names lower-cased; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
  /** `chunked`, `length` or `close` (read to the end of the stream). */
  framing: "chunked" | "length" | "close" | "none";
  text(): string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A raw connection to `127.0.0.1:port`. */
export class RawClient {
  readonly conn: Deno.TcpConn;
  #buf: Uint8Array = new Uint8Array(0);
  #eof = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes text (as ISO-8859-1 bytes would be: only pass ASCII) or bytes. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    for (let at = 0; at < bytes.length;) at += await this.conn.write(bytes.subarray(at));
  }

  /**
   * Reads one response; `head` for a response to HEAD (no body whatever the fields say).
   * Rejects when the connection ends before a whole response.
   */
  async response(options: { head?: boolean } = {}): Promise<RawResponse> {
    const end = await this.#until((b) => indexOf(b, "\r\n\r\n"));
    const lines = dec.decode(this.#take(end + 4)).slice(0, -4).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) throw new Error(`Not a status line: "${lines[0]}"`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const make = (body: Uint8Array, framing: RawResponse["framing"]): RawResponse => ({
      status,
      headers,
      body,
      framing,
      text: () => dec.decode(body),
    });
    if (options.head || status < 200 || status === 204 || status === 304) {
      return make(new Uint8Array(0), "none");
    }
    if (headers["transfer-encoding"]?.toLowerCase() === "chunked") {
      const parts: Uint8Array[] = [];
      while (true) {
        const lineEnd = await this.#until((b) => indexOf(b, "\r\n"));
        const size = parseInt(dec.decode(this.#take(lineEnd + 2)), 16);
        if (size === 0) {
          await this.#until((b) => (indexOf(b, "\r\n") === 0 ? 0 : -1));
          this.#take(2);
          break;
        }
        await this.#until((b) => (b.length >= size + 2 ? size : -1));
        parts.push(this.#take(size).slice());
        this.#take(2);
      }
      return make(concat(parts), "chunked");
    }
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      await this.#until((b) => (b.length >= length ? length : -1));
      return make(this.#take(length).slice(), "length");
    }
    return make(await this.readToEnd(), "close");
  }

  /** Everything until the server closes the connection. */
  async readToEnd(): Promise<Uint8Array> {
    while (!this.#eof) await this.#more();
    return this.#take(this.#buf.length).slice();
  }

  /** True when the server closed the connection (reads end) within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    const timer = setTimeout(() => this.close(), ms);
    try {
      while (!this.#eof) await this.#more();
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  async #until(find: (buffered: Uint8Array) => number): Promise<number> {
    while (true) {
      const at = find(this.#buf);
      if (at >= 0) return at;
      if (this.#eof) throw new Error("The connection closed before a whole response");
      await this.#more();
    }
  }

  async #more(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
        throw new Error("The client closed the connection (timed out)");
      }
      n = null; // a reset reads as the end
    }
    if (n === null) {
      this.#eof = true;
      return;
    }
    this.#buf = concat([this.#buf, chunk.subarray(0, n)]);
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

/** `body` as chunked framing, cut into pieces of `piece` bytes. */
export function chunked(body: Uint8Array, piece: number, trailer = ""): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += piece) {
    const part = body.subarray(at, at + piece);
    parts.push(enc.encode(`${part.length.toString(16)}\r\n`), part, enc.encode("\r\n"));
  }
  parts.push(enc.encode(`0\r\n${trailer}\r\n`));
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: string): number {
  const n = enc.encode(needle);
  outer: for (let i = 0; i + n.length <= haystack.length; i++) {
    for (let j = 0; j < n.length; j++) if (haystack[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}
