/**
 * @module
 * The conformance suite every {@linkcode BlobDriver} runs: the contract written in
 * `drivers/blob/types.ts`, checked against the real backend.
 */
import assert from "node:assert/strict";
import {
  type BlobDriver,
  type BlobStat,
  DriverNotFoundError,
  DriverRangeError,
} from "../../drivers/blob/types.ts";

/** `stat` found an object of `size` bytes written within the last ten minutes. */
function assertStat(stat: BlobStat | null, size: number): void {
  assert.ok(stat, "no object");
  assert.equal(stat.size, size);
  const age = Date.now() - stat.modified;
  assert.ok(age >= -5_000 && age < 600_000, `modified time ${stat.modified} is not recent`);
}

/** Keys of a listing, sorted. */
async function keysOf(entries: AsyncIterable<{ key: string }>): Promise<string[]> {
  return (await Array.fromAsync(entries)).map((e) => e.key).sort();
}

/** A driver under test, with what removes its state afterwards. */
export type Made = BlobDriver | { driver: BlobDriver; cleanup: () => Promise<void> };

function random(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function streamOf(data: Uint8Array, piece = 100_000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= data.byteLength) return c.close();
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
  });
}

/** A stream that sends `data` and then fails. */
function failing(data: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(c) {
      if (sent) return c.error(new Error("client went away"));
      c.enqueue(data.slice());
      sent = true;
    },
  });
}

async function bytes(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  assert.ok(stream, "expected a stream");
  return await new Response(stream).bytes();
}

/** Registers the suite for one driver; `make` is called once per test. */
export function blobDriverSuite(name: string, make: () => Promise<Made>): void {
  Deno.test(`blob driver contract: ${name}`, async (t) => {
    const made = await make();
    const driver = "driver" in made ? made.driver : made;
    const cleanup = "driver" in made ? made.cleanup : () => driver.close?.() ?? Promise.resolve();
    const key = (k: string) => `suite/${k}`;
    try {
      await t.step("write, stat and read round-trip", async () => {
        const data = random(300_000);
        assert.deepEqual(await driver.write(key("a"), streamOf(data)), { size: data.byteLength });
        assertStat(await driver.stat(key("a")), data.byteLength);
        assert.deepEqual(await bytes(await driver.read(key("a"))), data);
      });
      await t.step("zero-length objects exist", async () => {
        await driver.write(key("empty"), streamOf(new Uint8Array(0)));
        assertStat(await driver.stat(key("empty")), 0);
        assert.equal((await bytes(await driver.read(key("empty")))).byteLength, 0);
      });
      await t.step("a 20 MiB object keeps every byte", async () => {
        const data = random(20 << 20);
        await driver.write(key("big"), streamOf(data, 1 << 20));
        assert.deepEqual(await bytes(await driver.read(key("big"))), data);
      });
      await t.step("ranges", async () => {
        const data = random(1000);
        await driver.write(key("r"), streamOf(data));
        assert.deepEqual(await bytes(await driver.read(key("r"), { start: 10 })), data.slice(10));
        assert.deepEqual(
          await bytes(await driver.read(key("r"), { start: 10, end: 19 })),
          data.slice(10, 20),
        );
        assert.deepEqual(
          await bytes(await driver.read(key("r"), { start: 999, end: 999 })),
          data.slice(999),
        );
        assert.deepEqual(
          await bytes(await driver.read(key("r"), { start: 990, end: 5000 })),
          data.slice(990),
        );
        for (const [k, start, size] of [["r", 1000, 1000], ["r", 5000, 1000], ["empty", 0, 0]]) {
          await assert.rejects(
            () => driver.read(key(k as string), { start: start as number }),
            (e: unknown) => {
              assert.ok(e instanceof DriverRangeError, `start ${start}: ${e}`);
              assert.equal(e.size, size);
              return true;
            },
          );
        }
      });
      await t.step("a reader that stops early does not disturb later reads", async () => {
        const stream = await driver.read(key("big"), { start: 1 });
        const reader = stream!.getReader();
        assert.ok((await reader.read()).value!.byteLength > 0);
        await reader.cancel();
        await (await driver.read(key("big")))!.cancel(); // never read at all
        assertStat(await driver.stat(key("big")), 20 << 20);
        assert.equal(
          (await bytes(await driver.read(key("big"), { start: 5 }))).byteLength,
          (20 << 20) - 5,
        );
      });
      await t.step("missing keys", async () => {
        assert.equal(await driver.stat(key("missing")), null);
        assert.equal(await driver.read(key("missing")), null);
        assert.equal(await driver.delete(key("missing")), false);
      });
      await t.step("a write is invisible until its stream ends", async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => release = r);
        let first = true;
        const slow = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (first) {
              first = false;
              c.enqueue(random(1000));
              return;
            }
            await gate;
            c.enqueue(random(1000));
            c.close();
          },
        });
        const writing = driver.write(key("slow"), slow);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(await driver.stat(key("slow")), null, "visible before the stream ended");
        release();
        assert.deepEqual(await writing, { size: 2000 });
        assertStat(await driver.stat(key("slow")), 2000);
      });
      await t.step(
        "a replacing write: readers see the old object whole until it ends",
        async () => {
          const old = random(3000), next = random(5000);
          await driver.write(key("swap"), streamOf(old));
          let release!: () => void;
          const gate = new Promise<void>((r) => release = r);
          let sent = 0;
          const slow = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (sent === 1) await gate;
              if (sent === 2) return c.close();
              c.enqueue(next.slice(sent * 2500, (sent + 1) * 2500));
              sent++;
            },
          });
          const writing = driver.write(key("swap"), slow);
          await new Promise((r) => setTimeout(r, 50));
          assertStat(await driver.stat(key("swap")), 3000);
          assert.deepEqual(await bytes(await driver.read(key("swap"))), old);
          release();
          await writing;
          assert.deepEqual(await bytes(await driver.read(key("swap"))), next);
        },
      );
      await t.step(
        "a failed write leaves nothing, and does not replace what was there",
        async () => {
          await assert.rejects(() => driver.write(key("fail"), failing(random(5000))));
          assert.equal(await driver.stat(key("fail")), null);
          const data = random(100);
          await driver.write(key("keep"), streamOf(data));
          await assert.rejects(() => driver.write(key("keep"), failing(random(5000))));
          assert.deepEqual(await bytes(await driver.read(key("keep"))), data);
        },
      );
      await t.step("delete is idempotent", async () => {
        await driver.write(key("d"), streamOf(random(10)));
        assert.equal(await driver.delete(key("d")), true);
        assert.equal(await driver.delete(key("d")), false);
        assert.equal(await driver.stat(key("d")), null);
      });
      await t.step("read with an expected size: null when the object has another", async () => {
        const data = random(5000);
        await driver.write(key("sized"), streamOf(data));
        assert.deepEqual(
          await bytes((await driver.read(key("sized"), undefined, { size: 5000 }))!),
          data,
        );
        assert.equal(await driver.read(key("sized"), undefined, { size: 5001 }), null);
        assert.equal(await driver.read(key("sized"), { start: 10, end: 20 }, { size: 4999 }), null);
        const part = await driver.read(key("sized"), { start: 10, end: 19 }, { size: 5000 });
        assert.deepEqual(await bytes(part!), data.subarray(10, 20));
      });
      await t.step("list finds keys under a prefix only", async () => {
        await driver.write("lista/x/1", streamOf(random(1)));
        await driver.write("lista/y/2", streamOf(random(1)));
        await driver.write("listb/3", streamOf(random(1)));
        await driver.write("lista-z/4", streamOf(random(1)));
        assert.deepEqual(await keysOf(driver.list("lista/")), ["lista/x/1", "lista/y/2"]);
        assert.deepEqual(await keysOf(driver.list("listc/")), []);
        await driver.delete("lista/x/1");
        assert.deepEqual(await keysOf(driver.list("lista/")), ["lista/y/2"]);
      });
      await t.step("list reports each object's size and modified time as stat does", async () => {
        await driver.write("listsize/a", streamOf(random(1234)));
        const [entry] = await Array.fromAsync(driver.list("listsize/"));
        assert.equal(entry.key, "listsize/a");
        assertStat(entry, 1234);
        const stat = await driver.stat("listsize/a");
        assert.ok(Math.abs(stat!.modified - entry.modified) < 2_000);
      });
      await t.step("uploads: append in chunks, publish exactly size bytes", async () => {
        const data = random(3_000_000);
        let ref = await driver.uploads.create(crypto.randomUUID());
        let offset = 0;
        for (const size of [1, 700_000, 1_299_999, 1_000_000]) {
          const r = await driver.uploads.append(
            ref,
            offset,
            streamOf(data.subarray(offset, offset + size)),
          );
          assert.equal(r.written, size);
          ref = r.ref;
          offset += size;
        }
        if (driver.uploads.readable) {
          assert.deepEqual(await bytes(await driver.uploads.read(ref, offset)), data);
          assert.deepEqual(
            await bytes(await driver.uploads.read(ref, 1000)),
            data.subarray(0, 1000),
          );
        }
        const at = await driver.uploads.publish(ref, offset, key("up"));
        assertStat(await driver.stat(at), data.byteLength);
        assert.deepEqual(await bytes(await driver.read(at)), data);
      });
      await t.step("uploads: publish takes exactly size bytes and ends the upload", async () => {
        const data = random(300_000);
        const id = crypto.randomUUID();
        const ref0 = await driver.uploads.create(id);
        const { ref } = await driver.uploads.append(ref0, 0, streamOf(data));
        await assert.rejects(() => driver.uploads.publish(ref, 300_001, key("over")));
        const at = await driver.uploads.publish(ref, 200_000, key("prefix"));
        assertStat(await driver.stat(at), 200_000);
        assert.deepEqual(await bytes(await driver.read(at)), data.subarray(0, 200_000));
        assert.equal(await driver.uploads.publish(ref, 200_000, key("prefix")), at, "a retry");
        if (driver.uploads.readable) {
          await assert.rejects(() => driver.uploads.read(ref, 1), DriverNotFoundError);
        }
        await assert.rejects(
          () => driver.uploads.append(ref, 200_000, streamOf(random(10))),
          DriverNotFoundError,
          "an append to a published upload says it is gone",
        );
        if (driver.uploads.list) {
          const ids = (await Array.fromAsync(driver.uploads.list())).map((u) => u.id);
          assert.ok(!ids.includes(id), "the published upload is still listed");
        }
      });
      await t.step("uploads: list reports unfinished uploads", async () => {
        if (!driver.uploads.list) return;
        const id = crypto.randomUUID();
        const before = Date.now() - 2_000; // file times may be coarser than the clock
        const ref = await driver.uploads.create(id);
        await driver.uploads.append(ref, 0, streamOf(random(10)));
        const found = (await Array.fromAsync(driver.uploads.list())).find((u) => u.id === id);
        assert.ok(found, "the upload is not listed");
        assert.ok(found.modified >= before && found.modified <= Date.now() + 2_000);
        await driver.uploads.abort(found.ref);
        const ids = (await Array.fromAsync(driver.uploads.list())).map((u) => u.id);
        assert.ok(!ids.includes(id), "the aborted upload is still listed");
      });
      await t.step("uploads: an append from an earlier offset replaces the tail", async () => {
        const a = random(200_000), b = random(50_000);
        const ref0 = await driver.uploads.create(crypto.randomUUID());
        const first = await driver.uploads.append(ref0, 0, streamOf(a));
        // A request that wrote more but never committed: the registry retries from its ref.
        await driver.uploads.append(first.ref, a.byteLength, streamOf(random(70_000)));
        const second = await driver.uploads.append(first.ref, a.byteLength, streamOf(b));
        const at = await driver.uploads.publish(second.ref, a.byteLength + b.byteLength, key("re"));
        const expected = new Uint8Array([...a, ...b]);
        assert.deepEqual(await bytes(await driver.read(at)), expected);
      });
      await t.step("uploads: a failing body keeps the bytes before its offset", async () => {
        const a = random(120_000), b = random(30_000);
        const ref0 = await driver.uploads.create(crypto.randomUUID());
        const first = await driver.uploads.append(ref0, 0, streamOf(a));
        await assert.rejects(() =>
          driver.uploads.append(first.ref, a.byteLength, failing(random(9000)))
        );
        const second = await driver.uploads.append(first.ref, a.byteLength, streamOf(b));
        const at = await driver.uploads.publish(
          second.ref,
          a.byteLength + b.byteLength,
          key("keep2"),
        );
        assert.deepEqual(await bytes(await driver.read(at)), new Uint8Array([...a, ...b]));
      });
      await t.step("uploads: an aborted upload is gone for append, read and publish", async () => {
        const ref0 = await driver.uploads.create(crypto.randomUUID());
        const { ref } = await driver.uploads.append(ref0, 0, streamOf(random(1000)));
        await driver.uploads.abort(ref);
        await assert.rejects(
          () => driver.uploads.append(ref, 1000, streamOf(random(10))),
          DriverNotFoundError,
        );
        await assert.rejects(
          () => driver.uploads.publish(ref, 1000, key("gone")),
          DriverNotFoundError,
        );
        if (driver.uploads.readable) {
          await assert.rejects(() => driver.uploads.read(ref, 1000), DriverNotFoundError);
        }
        assert.equal(await driver.stat(key("gone")), null);
      });
      await t.step("uploads: empty publish, abort idempotent", async () => {
        const ref = await driver.uploads.create(crypto.randomUUID());
        const at = await driver.uploads.publish(ref, 0, key("zero"));
        assertStat(await driver.stat(at), 0);
        const other = await driver.uploads.create(crypto.randomUUID());
        await driver.uploads.append(other, 0, streamOf(random(10)));
        await driver.uploads.abort(other);
        await driver.uploads.abort(other);
        if (driver.uploads.readable) await assert.rejects(() => driver.uploads.read(other, 1));
      });
      await t.step("health", async () => {
        await driver.health();
      });
    } finally {
      await cleanup();
    }
  });
}
