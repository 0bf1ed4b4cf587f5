/**
 * @module
 * How a mirror reads an upstream's blob body (`upstreamStream` with `gather`): from a
 * real fetch of a local server (a byte stream, read straight into the chunks) and from a
 * plain stream (copied in), every chunk `gather` bytes but the last, the bytes intact and
 * counted, chunks never reused (the copy holds several at once), and a stalled upstream
 * ends in a `timeout` error.
 */
import assert from "node:assert/strict";
import { upstreamStream } from "../../src/mirror/upstream_read.ts";
import { UpstreamError } from "../../src/mirror/upstream_error.ts";

const GATHER = 64 * 1024;
/** Not a multiple of GATHER, so the last chunk is short. */
const SIZE = 5 * GATHER + 12_345;

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
  return bytes;
}

/** A local server sending `bytes` chunked, in uneven pieces with pauses between some. */
function serveInPieces(bytes: Uint8Array, stallAfter = Infinity) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    let at = 0;
    let piece = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (at >= stallAfter) return await new Promise(() => {}); // never sends again
        if (at >= bytes.length) return controller.close();
        const size = [1_000, 7_919, 40_000, 100_003][piece++ % 4];
        controller.enqueue(bytes.slice(at, Math.min(at + size, bytes.length, stallAfter)));
        at = Math.min(at + size, bytes.length, stallAfter);
        if (piece % 5 === 0) await new Promise((r) => setTimeout(r, 2));
      },
    });
    return new Response(body);
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, server };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function checkChunks(chunks: Uint8Array[], expected: Uint8Array) {
  for (const c of chunks.slice(0, -1)) assert.equal(c.byteLength, GATHER);
  assert.ok(chunks.at(-1)!.byteLength > 0 && chunks.at(-1)!.byteLength <= GATHER);
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.byteLength;
  }
  assert.equal(joined.byteLength, expected.byteLength);
  assert.ok(joined.every((b, i) => b === expected[i]), "the bytes arrived changed");
  // Every chunk is its own memory: none was overwritten by a later read.
  assert.equal(new Set(chunks.map((c) => c.buffer)).size, chunks.length);
}

Deno.test("upstreamStream gathers an upstream's blob body into whole chunks", async (t) => {
  const bytes = pattern(SIZE);

  await t.step("a fetch body (a byte stream) is read straight into the chunks", async () => {
    const { url, server } = serveInPieces(bytes);
    try {
      const response = await fetch(url);
      let counted = 0;
      const chunks = await readAll(
        upstreamStream(response, 5_000, (n) => counted += n, GATHER),
      );
      assert.equal(counted, SIZE);
      assert.equal(chunks.length, Math.ceil(SIZE / GATHER));
      checkChunks(chunks, bytes);
    } finally {
      await server.shutdown();
    }
  });

  await t.step("a plain stream's chunks are copied into chunks of the same size", async () => {
    let at = 0;
    const plain = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= SIZE) return controller.close();
        controller.enqueue(bytes.slice(at, at + 9_000));
        at += 9_000;
      },
    });
    let counted = 0;
    const chunks = await readAll(
      upstreamStream(new Response(plain), 5_000, (n) => counted += n, GATHER),
    );
    assert.equal(counted, SIZE);
    assert.equal(chunks.length, Math.ceil(SIZE / GATHER));
    checkChunks(chunks, bytes);
  });

  await t.step("an empty body ends at once", async () => {
    const { server } = serveInPieces(new Uint8Array(0));
    try {
      const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
      assert.deepEqual(await readAll(upstreamStream(response, 5_000, () => {}, GATHER)), []);
    } finally {
      await server.shutdown();
    }
  });

  await t.step(
    "an upstream that stops sending fails with a timeout, bytes so far kept",
    async () => {
      const { url, server } = serveInPieces(bytes, 2 * GATHER + 500);
      try {
        const response = await fetch(url);
        const reader = upstreamStream(response, 300, () => {}, GATHER).getReader();
        const got: Uint8Array[] = [];
        const started = performance.now();
        const err = await (async () => {
          try {
            while (true) {
              const { done, value } = await reader.read();
              if (done) return null;
              got.push(value);
            }
          } catch (err) {
            return err;
          }
        })();
        assert.ok(err instanceof UpstreamError, `expected a timeout, got ${err}`);
        assert.equal(err.kind, "timeout");
        assert.ok(performance.now() - started < 5_000);
        assert.deepEqual(got.map((c) => c.byteLength), [GATHER, GATHER]);
      } finally {
        await server.shutdown();
      }
    },
  );
});
