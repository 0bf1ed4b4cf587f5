/**
 * @module
 * A streamed upload client: one `PATCH` with `Transfer-Encoding: chunked` and no
 * `Content-Length`, as podman and buildah send a layer they compress on the fly, with the
 * chunk size chosen exactly (curl cannot). The chunked framing is written to a file before
 * any timing, and sent from the page cache over a raw socket in 1 MiB writes, so the client
 * costs the same for both registries; the same code sends the raw bytes with a
 * `Content-Length` for reference.
 */
import { absolute, curl } from "./clients.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `path` framed as a chunked body in pieces of `piece` bytes; returns the new path. */
export async function frameFile(path: string, piece: number): Promise<string> {
  const out = `${path}.chunked-${piece}`;
  const src = await Deno.open(path);
  const dst = await Deno.open(out, { write: true, create: true, truncate: true });
  try {
    const block = Math.max(piece, 1 << 20);
    const buf = new Uint8Array(block);
    const header = enc.encode(`${piece.toString(16)}\r\n`);
    const frame = new Uint8Array(header.length + piece + 2);
    while (true) {
      let n = 0;
      while (n < block) {
        const r = await src.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      if (n === 0) break;
      for (let at = 0; at < n; at += piece) {
        const part = buf.subarray(at, Math.min(at + piece, n));
        const head = part.length === piece ? header : enc.encode(`${part.length.toString(16)}\r\n`);
        const f = part.length === piece ? frame : new Uint8Array(head.length + part.length + 2);
        f.set(head);
        f.set(part, head.length);
        f.set([13, 10], head.length + part.length);
        await writeAll(dst, f);
      }
      if (n < block) break;
    }
    await writeAll(dst, enc.encode("0\r\n\r\n"));
  } finally {
    src.close();
    dst.close();
  }
  return out;
}

/**
 * `POST` a session, one `PATCH` with the body of `wire` (chunked framing when `length` is
 * null, else raw bytes with that `Content-Length`), then `PUT ?digest=`. Returns the
 * seconds of all three.
 */
export async function pushStreamed(
  base: string,
  repo: string,
  wire: string,
  length: number | null,
  digest: string,
): Promise<number> {
  const started = performance.now();
  const post = await curl(["-X", "POST", `${base}/v2/${repo}/blobs/uploads/`]);
  if (post.status !== 202) throw new Error(`POST upload answered ${post.status}`);
  const location = absolute(base, post.headers.get("location"));
  const next = await patch(location, wire, length);
  const u = new URL(absolute(base, next));
  u.searchParams.set("digest", digest);
  const put = await curl(["-X", "PUT", u.href]);
  if (put.status !== 201) throw new Error(`closing PUT ?digest= answered ${put.status}`);
  return (performance.now() - started) / 1000;
}

/** Sends one PATCH over a raw socket; returns the `Location` of its 202. */
async function patch(location: string, wire: string, length: number | null): Promise<string> {
  const url = new URL(location);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const file = await Deno.open(wire);
  try {
    const framing = length === null ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`;
    await writeAll(
      conn,
      enc.encode(
        `PATCH ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${framing}\r\n` +
          "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(1 << 20);
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      await writeAll(conn, buf.subarray(0, n));
    }
    const head = await readHead(conn);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (status !== 202) throw new Error(`streamed PATCH answered ${status}`);
    const found = /\r\nlocation:\s*([^\r\n]+)/i.exec(head);
    if (!found) throw new Error("The PATCH response has no Location header");
    return found[1].trim();
  } finally {
    file.close();
    conn.close();
  }
}

/** Reads a response head (the body of a 202 is empty). */
async function readHead(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(16 * 1024);
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("The registry closed the connection without a response");
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array) {
  for (let at = 0; at < bytes.length;) at += await w.write(bytes.subarray(at));
}
