import assert from "node:assert/strict";
import { stallGuarded } from "../../src/http/responses.ts";
import { tap } from "../../src/streams/tap.ts";
import { readByob } from "../helpers/streams.ts";

/**
 * A plain stream whose chunks someone else still holds (a mirror's copy hands the same
 * chunk to the store and to every client).
 */
function sharedSource(parts: number, size: number) {
  const chunks = Array.from({ length: parts }, (_, i) => new Uint8Array(size).fill(i + 1));
  let next = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++]);
      else controller.close();
    },
  }, { highWaterMark: 0 });
  return { chunks, stream };
}

const wrappers = {
  tap: (s: ReadableStream<Uint8Array>) => tap(s, { chunk() {} }),
  stallGuarded: (s: ReadableStream<Uint8Array>) => stallGuarded(s, 60_000),
};

for (const [name, wrap] of Object.entries(wrappers)) {
  Deno.test(`${name} never detaches the chunks of a plain source it passes on`, async (t) => {
    const expected = (parts: number, size: number) =>
      Array.from({ length: parts * size }, (_, i) => Math.floor(i / size) + 1);

    await t.step("read with a default reader", async () => {
      const source = sharedSource(3, 200_000);
      const got = new Uint8Array(await new Response(wrap(source.stream)).arrayBuffer());
      assert.deepEqual([...got], expected(3, 200_000));
      for (const [i, c] of source.chunks.entries()) {
        assert.equal(c.byteLength, 200_000, `chunk ${i} was detached`);
        assert.ok(c.every((b) => b === i + 1));
      }
    });

    await t.step("read into a smaller BYOB buffer", async () => {
      const source = sharedSource(3, 50_000);
      assert.deepEqual([...await readByob(wrap(source.stream), 16_384)], expected(3, 50_000));
      for (const c of source.chunks) assert.equal(c.byteLength, 50_000);
    });
  });
}

Deno.test("tap passes empty chunks of a plain source over and still sees every byte", async () => {
  const parts = [new Uint8Array(0), new Uint8Array(300_000).fill(7), new Uint8Array(0)];
  let seen = 0;
  let ended = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  }, { highWaterMark: 0 });
  const tapped = tap(source, { chunk: (b) => seen += b.byteLength, end: () => ended++ });
  const got = new Uint8Array(await new Response(tapped).arrayBuffer());
  assert.equal(got.byteLength, 300_000);
  assert.ok(got.every((b) => b === 7));
  assert.equal(seen, 300_000);
  assert.equal(ended, 1);
});
