/**
 * @module
 * I/O buffers start off a page boundary, and stay so through a pool and through BYOB reads
 * that transfer them (`drivers/io_buffer.ts`). The speed this buys depends on the CPU, so
 * the tests check the layout, which is what the code controls.
 */
import assert from "node:assert/strict";
import { BufferPool, IO_SKEW, ioBuffer, ioSize, ioView } from "../../drivers/io_buffer.ts";
import { fileStream, pour } from "../../drivers/blob/file_streams.ts";
import { randomBytes } from "../helpers/oci.ts";

const SIZE = 64 * 1024;

Deno.test("I/O buffers start IO_SKEW bytes into their memory", async (t) => {
  await t.step("ioBuffer and ioView", () => {
    const b = ioBuffer(SIZE);
    assert.equal(b.byteLength, SIZE);
    assert.equal(b.byteOffset, IO_SKEW);
    assert.equal(b.buffer.byteLength, SIZE + IO_SKEW);
    assert.equal(IO_SKEW % 4096 !== 0, true);
    const whole = ioView(b.buffer);
    assert.equal(whole.byteOffset, IO_SKEW);
    assert.equal(whole.byteLength, SIZE);
    assert.equal(ioSize(b.buffer), SIZE);
  });

  await t.step("a pool hands its buffers out again, skewed, and refuses others", () => {
    const pool = new BufferPool(SIZE, 2);
    const a = pool.take();
    const memory = a.buffer;
    pool.give(a.subarray(100, 200)); // any view of it
    const again = pool.take();
    assert.equal(again.buffer, memory);
    assert.equal(again.byteOffset, IO_SKEW);
    assert.equal(again.byteLength, SIZE);

    const small = new Uint8Array(SIZE); // no room for the skew
    const large = ioBuffer(SIZE * 2); // another pool's
    const detached = ioBuffer(SIZE);
    const memoryOfDetached = detached.buffer;
    (detached.buffer as ArrayBuffer).transfer();
    for (const b of [small, large, detached]) pool.give(b);
    const fresh = pool.take();
    assert.ok(![small.buffer, large.buffer, memoryOfDetached].includes(fresh.buffer));
    assert.equal(fresh.byteOffset, IO_SKEW);
    // Only the two idle buffers it may keep.
    const three = [ioBuffer(SIZE), ioBuffer(SIZE), ioBuffer(SIZE)];
    for (const b of three) pool.give(b);
    const taken = [pool.take(), pool.take(), pool.take()].map((b) => b.buffer);
    assert.equal(taken.filter((b) => three.some((x) => x.buffer === b)).length, 2);
  });

  await t.step("a BYOB read transfers the buffer; ioView keeps the skew", async () => {
    const stream = new ReadableStream({
      type: "bytes",
      pull(controller) {
        const view = controller.byobRequest!.view!;
        new Uint8Array(view.buffer, view.byteOffset, 3).set([1, 2, 3]);
        controller.byobRequest!.respond(3);
      },
    });
    const reader = stream.getReader({ mode: "byob" });
    const pool = new BufferPool(SIZE, 1);
    const { value } = await reader.read(pool.take());
    assert.deepEqual([...value!], [1, 2, 3]);
    assert.equal(value!.byteOffset, IO_SKEW);
    const back = ioView(value!.buffer);
    assert.equal(back.byteOffset, IO_SKEW);
    assert.equal(back.byteLength, SIZE);
    pool.give(back);
    assert.equal(pool.take().buffer, value!.buffer);
  });

  await t.step("files stream in and out through skewed buffers, bytes intact", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const bytes = randomBytes(3 * SIZE + 17);
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          for (let at = 0; at < bytes.length; at += 10_000) c.enqueue(bytes.slice(at, at + 10_000));
          c.close();
        },
      });
      const out = await Deno.open(`${dir}/f`, { write: true, create: true });
      assert.equal(await pour(source, out), bytes.length);
      out.close();
      // BYOB into a skewed buffer, and a default reader.
      for (const mode of ["byob", "default"] as const) {
        const file = await Deno.open(`${dir}/f`);
        const stream = fileStream(file, bytes.length);
        const got: Uint8Array[] = [];
        if (mode === "byob") {
          const reader = stream.getReader({ mode: "byob" });
          let buf = ioBuffer(SIZE);
          while (true) {
            const { done, value } = await reader.read(buf);
            if (done) break;
            assert.equal(value.byteOffset, IO_SKEW);
            got.push(value.slice());
            buf = ioView(value.buffer);
          }
        } else {
          for await (const chunk of stream) got.push(chunk);
        }
        const joined = new Uint8Array(await new Blob(got as BlobPart[]).arrayBuffer());
        assert.equal(joined.length, bytes.length, mode);
        assert.ok(joined.every((b, i) => b === bytes[i]), `${mode}: the bytes changed`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
