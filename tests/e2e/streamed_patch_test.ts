/**
 * Streamed PATCHes (`Transfer-Encoding: chunked`, no `Content-Length`), as podman and
 * buildah send layers they compress on the fly: the time grows linearly with the size, and
 * the bytes land whole. Timings are compared within one run (ratios), best of two rounds,
 * so a loaded machine slows both sides alike.
 */
import assert from "node:assert/strict";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { chunked, concat, RawClient } from "../helpers/raw_http.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

const MiB = 1024 * 1024;
const enc = new TextEncoder();

/** Opens an upload session; its relative `Location`. */
async function open(reg: TestRegistry, repo: string): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(res.status, 202);
  return res.headers.get("location")!;
}

/**
 * Sends one PATCH whose body is `wire` (already framed: chunked, or raw with a
 * `Content-Length`), in 256 KiB writes; returns the seconds until the 202 and the next
 * `Location`.
 */
async function patch(
  reg: TestRegistry,
  location: string,
  wire: Uint8Array,
  length: number | null,
): Promise<{ seconds: number; location: string }> {
  const framing = length === null ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`;
  const c = await RawClient.connect(Number(reg.host.split(":")[1]));
  try {
    const started = performance.now();
    await c.write(
      `PATCH ${location} HTTP/1.1\r\nHost: ${reg.host}\r\n${framing}\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    for (let at = 0; at < wire.length; at += 256 * 1024) {
      await c.write(wire.subarray(at, at + 256 * 1024));
    }
    const res = await c.response();
    const seconds = (performance.now() - started) / 1000;
    assert.equal(res.status, 202, res.text());
    return { seconds, location: res.headers.location };
  } finally {
    c.close();
  }
}

/** Pushes `data` as one streamed PATCH and closes the upload; the PATCH's seconds. */
async function push(
  reg: TestRegistry,
  repo: string,
  data: Uint8Array,
  wire: Uint8Array,
  length: number | null,
): Promise<number> {
  const sent = await patch(reg, await open(reg, repo), wire, length);
  const digest = sha256(data);
  const put = await fetch(`${reg.url}${sent.location}&digest=${digest}`, { method: "PUT" });
  assert.equal(put.status, 201, await put.text());
  const got = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
  assert.equal(got.headers.get("content-length"), String(data.length));
  await got.body?.cancel();
  return sent.seconds;
}

Deno.test("a streamed PATCH in 4 KiB pieces takes time linear in its size", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const large = randomBytes(64 * MiB);
    const small = large.subarray(0, 16 * MiB);
    const wires = { small: chunked(small, 4096), large: chunked(large, 4096) };
    const best = { small: Infinity, large: Infinity };
    for (let round = 0; round < 2; round++) {
      best.small = Math.min(best.small, await push(reg, `lin/s${round}`, small, wires.small, null));
      best.large = Math.min(best.large, await push(reg, `lin/l${round}`, large, wires.large, null));
    }
    const ratio = best.large / best.small;
    // 4x the bytes: about 4x the time. Deno.serve's own HTTP/1 path took 16x and more.
    assert.ok(
      ratio < 7,
      `64 MiB took ${ratio.toFixed(1)}x the time of 16 MiB ` +
        `(${best.small.toFixed(2)} s and ${best.large.toFixed(2)} s)`,
    );
  } finally {
    await reg.close();
  }
});

Deno.test("a streamed PATCH in 32 KiB pieces is about as fast as one with Content-Length", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const data = randomBytes(64 * MiB);
    const wire = chunked(data, 32 * 1024);
    const best = { chunked: Infinity, length: Infinity };
    for (let round = 0; round < 2; round++) {
      best.length = Math.min(best.length, await push(reg, `cl/l${round}`, data, data, data.length));
      best.chunked = Math.min(best.chunked, await push(reg, `cl/c${round}`, data, wire, null));
    }
    // Within 0.8x on a quiet machine (bench/); the test leaves room for a loaded one.
    const ratio = best.length / best.chunked;
    assert.ok(
      ratio > 0.5,
      `chunked ran at ${ratio.toFixed(2)}x the speed of Content-Length ` +
        `(${best.chunked.toFixed(2)} s and ${best.length.toFixed(2)} s)`,
    );
  } finally {
    await reg.close();
  }
});

Deno.test("a streamed PATCH cut into odd pieces, with a trailer, is stored whole", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const data = randomBytes(3 * MiB + 12345);
    const pieces: Uint8Array[] = [];
    let at = 0;
    for (let i = 1; at < data.length; i++) {
      const size = (i * 7919) % 70_000 + 1;
      const part = data.subarray(at, at + size);
      pieces.push(enc.encode(`${part.length.toString(16)};n=${i}\r\n`), part, enc.encode("\r\n"));
      at += size;
    }
    pieces.push(enc.encode("0\r\nX-Checksum: none\r\n\r\n"));
    await push(reg, "odd/pieces", data, concat(pieces), null);
    const res = await fetch(`${reg.url}/v2/odd/pieces/blobs/${sha256(data)}`);
    assert.equal(sha256(await res.bytes()), sha256(data));
  } finally {
    await reg.close();
  }
});
