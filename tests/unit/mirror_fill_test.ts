import assert from "node:assert/strict";
import type { ByteRange } from "../../drivers/blob/types.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import {
  COPYING_READERS,
  Fill,
  type FillSink,
  STALL_MS,
  WINDOW_BYTES,
} from "../../src/mirror/fill.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { readByob } from "../helpers/streams.ts";

const CHUNK = 256 * 1024;

/** An upstream body of `data` in CHUNK pieces that records how far it was read. */
function upstream(data: Uint8Array) {
  const state = { sent: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.sent >= data.byteLength) return controller.close();
      const end = Math.min(state.sent + CHUNK, data.byteLength);
      controller.enqueue(data.slice(state.sent, end));
      state.sent = end;
    },
  }, { highWaterMark: 0 });
  return { body, state };
}

/**
 * A store that keeps what it reads (slowly when asked) and can be opened afterwards. Like
 * the upload path, it checks the bytes against `digest` once they are all there, says so
 * before it keeps them, and refuses them when they do not match.
 */
function sink(digest: string, options: { delayMs?: number } = {}) {
  const opened: ByteRange[] = [];
  let stored: Uint8Array | null = null;
  const s: FillSink = {
    async store(body, verified) {
      const parts: Uint8Array[] = [];
      for await (const chunk of body) {
        parts.push(chunk);
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      }
      const bytes = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
      if (sha256(bytes) !== digest) throw new Error(`The bytes do not match digest ${digest}`);
      verified();
      stored = bytes;
    },
    openStored(range) {
      opened.push(range);
      const bytes = stored!.subarray(range.start, (range.end ?? stored!.byteLength - 1) + 1);
      return Promise.resolve(new Blob([bytes as BlobPart]).stream());
    },
  };
  return { sink: s, opened, stored: () => stored };
}

async function all(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("a fill gives every reader and the store the same bytes, read once", async () => {
  const data = randomBytes(5 * 1024 * 1024 + 123);
  const up = upstream(data);
  const store = sink(sha256(data));
  const fill = new Fill(parseDigest(sha256(data)), data.byteLength, up.body, store.sink);
  const readers = [fill.read(undefined, store.sink), fill.read(undefined, store.sink)];
  const ranged = fill.read({ start: 1_000_000, end: 1_000_009 }, store.sink);
  const [a, b, r] = await Promise.all([...readers, ranged].map(all));
  await fill.done;
  assert.deepEqual(a, data);
  assert.deepEqual(b, data);
  assert.deepEqual(r, data.subarray(1_000_000, 1_000_010));
  assert.deepEqual(store.stored(), data);
  assert.equal(up.state.sent, data.byteLength);
  assert.deepEqual(store.opened, [], "nobody had to read from the store");
});

Deno.test("a fill reads at most the window ahead of its slowest reader", async () => {
  const data = randomBytes(4 * WINDOW_BYTES);
  const up = upstream(data);
  const store = sink(sha256(data));
  const fill = new Fill(parseDigest(sha256(data)), data.byteLength, up.body, store.sink);
  const slow = fill.read(undefined, store.sink).getReader();
  const first = await slow.read();
  assert.ok(!first.done);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(
    up.state.sent <= first.value.byteLength + WINDOW_BYTES + 2 * CHUNK,
    `read ${up.state.sent} bytes while the reader took ${first.value.byteLength}`,
  );
  let got = first.value.byteLength;
  while (true) {
    const { done, value } = await slow.read();
    if (done) break;
    got += value.byteLength;
  }
  assert.equal(got, data.byteLength);
  await fill.done;
});

Deno.test("a stalled reader is let go and continues from the store; a late one starts there", async () => {
  const data = randomBytes(3 * WINDOW_BYTES);
  const up = upstream(data);
  const store = sink(sha256(data));
  const fill = new Fill(parseDigest(sha256(data)), data.byteLength, up.body, store.sink);
  const stalled = fill.read(undefined, store.sink).getReader();
  const first = await stalled.read();
  const started = performance.now();
  await fill.done; // the copy finishes although the reader takes nothing
  assert.ok(performance.now() - started >= STALL_MS * 0.9, "it waited for the reader first");
  const late = await all(fill.read({ start: 10 }, store.sink));
  assert.deepEqual(late, data.subarray(10));
  let rest = first.value!.byteLength;
  const parts = [first.value!];
  while (true) {
    const { done, value } = await stalled.read();
    if (done) break;
    parts.push(value);
    rest += value.byteLength;
  }
  assert.equal(rest, data.byteLength);
  assert.equal(
    sha256(new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer())),
    sha256(data),
  );
  assert.ok(store.opened.length >= 2, "both continued from the store");
});

Deno.test("bytes that do not match the digest never reach a reader whole", async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const lie = data.slice();
  lie[2_000_000] ^= 1;
  const up = upstream(lie);
  const store = sink(sha256(data), { delayMs: 1 });
  const fill = new Fill(parseDigest(sha256(data)), data.byteLength, up.body, store.sink);
  const got = await all(fill.read(undefined, store.sink));
  assert.ok(got.byteLength < data.byteLength, `the reader got ${got.byteLength} bytes`);
  assert.ok(got.byteLength <= data.byteLength - CHUNK, "the newest chunk was held back");
  await assert.rejects(fill.done, /digest/);
  const short = upstream(data.subarray(0, data.byteLength - 1));
  const fill2 = new Fill(
    parseDigest(sha256(data)),
    data.byteLength,
    short.body,
    sink(sha256(data)).sink,
  );
  assert.ok(
    (await all(fill2.read(undefined, sink(sha256(data)).sink))).byteLength < data.byteLength,
  );
});

Deno.test("a fill recycles the chunks no reader holds, and only those", async (t) => {
  const data = randomBytes(6 * WINDOW_BYTES + 4321);
  // A recycled chunk is overwritten at once, as the next upstream read would: a reader
  // still holding it would see its bytes change.
  const recyclingFill = () => {
    const given: Uint8Array[] = [];
    const recycle = (chunk: Uint8Array) => {
      given.push(chunk);
      new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength).fill(0xee);
    };
    const store = sink(sha256(data));
    const digest = parseDigest(sha256(data));
    const fill = new Fill(digest, data.byteLength, upstream(data).body, store.sink, recycle);
    return { given, store, fill };
  };

  await t.step("one request: it reads copies, and the window's chunks come back", async () => {
    const { given, store, fill } = recyclingFill();
    const got = await readByob(fill.read(undefined, store.sink), 300_000);
    await fill.done;
    assert.equal(sha256(got), sha256(data));
    assert.equal(sha256(store.stored()!), sha256(data));
    // All but the window (and the chunk at its edge) went back.
    const chunks = Math.ceil(data.byteLength / CHUNK);
    assert.ok(given.length >= chunks - WINDOW_BYTES / CHUNK - 2, `only ${given.length}`);
    assert.equal(new Set(given).size, given.length, "a chunk came back twice");
  });

  await t.step(
    `past ${COPYING_READERS} requests the rest share the chunks, never recycled`,
    async () => {
      const { given, store, fill } = recyclingFill();
      const streams = Array.from(
        { length: COPYING_READERS + 2 },
        () => fill.read(undefined, store.sink),
      );
      // The copying ones are byte streams (BYOB works); the sharing ones are not.
      assert.throws(() => streams.at(-1)!.getReader({ mode: "byob" }));
      const sharedParts: Uint8Array[][] = [];
      const reads = streams.map(async (s, i) => {
        if (i < COPYING_READERS) return await readByob(s, 300_000);
        const parts: Uint8Array[] = [];
        sharedParts.push(parts);
        for await (const chunk of s) parts.push(chunk); // kept, not copied
        return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
      });
      const results = await Promise.all(reads);
      await fill.done;
      for (const got of results) assert.equal(sha256(got), sha256(data));
      // The chunks the sharing readers still hold are intact, so none was recycled.
      for (const parts of sharedParts) {
        const again = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
        assert.equal(sha256(again), sha256(data));
        const held = new Set(parts.map((p) => p.buffer));
        assert.ok(!given.some((c) => held.has(c.buffer)), "a shared chunk was recycled");
      }
    },
  );
});
