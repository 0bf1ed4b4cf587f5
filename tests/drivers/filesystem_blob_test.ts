/**
 * @module
 * The filesystem driver: the shared contract, plus what only files have (unsafe paths,
 * temporary files, OS locks, file handles, empty folders).
 */
import assert from "node:assert/strict";
import { FilesystemBlobDriver } from "../../drivers/blob/filesystem.ts";
import { blobDriverSuite } from "./blob_driver_suite.ts";

async function make(sync = false) {
  const root = await Deno.makeTempDir({ prefix: "berth-fs-" });
  return {
    driver: await FilesystemBlobDriver.open(root, { sync }),
    root,
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}

blobDriverSuite("filesystem", () => make());
blobDriverSuite("filesystem (sync)", () => make(true));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stream of `pieces` that waits between them, so concurrent writers would overlap. */
function trickle(pieces: Uint8Array[], pauseMs = 5): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(c) {
      if (i > 0) await sleep(pauseMs);
      if (i === pieces.length) return c.close();
      c.enqueue(pieces[i++]);
    },
  });
}

/**
 * Open file descriptors of this process that point into `dir` (Linux), or null where that
 * cannot be seen. Only this driver's files count: test files running in parallel in the
 * same process open descriptors of their own.
 */
function openFiles(dir: string): number | null {
  try {
    return [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(dir);
      } catch {
        return false; // closed between the listing and the look
      }
    }).length;
  } catch {
    return null;
  }
}

Deno.test("filesystem driver: what only files have", async (t) => {
  const { driver, root, cleanup } = await make();
  const exists = (path: string) => Deno.stat(`${root}/${path}`).then(() => true, () => false);
  try {
    await t.step("unsafe and reserved keys are refused", async () => {
      for (const key of ["../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "a b", "", "a/"]) {
        await assert.rejects(() => driver.stat(key), /not safe/, key);
        await assert.rejects(() => driver.write(key, ReadableStream.from([])), /not safe/, key);
      }
      for (const key of ["_tmp/x", "_uploads/x/data"]) {
        await assert.rejects(() => driver.read(key), /reserved/, key);
      }
      await assert.rejects(() => driver.uploads.create("../escape"), /not safe/);
    });

    await t.step("a failed write leaves no temp file behind", async () => {
      const failing = new ReadableStream({
        pull(c) {
          c.error(new Error("boom"));
        },
      });
      await assert.rejects(() => driver.write("x/y", failing), /boom/);
      await assert.rejects(() =>
        driver.write(
          "x/y",
          trickle([new Uint8Array(10)]).pipeThrough(
            new TransformStream({ flush: () => Promise.reject(new Error("late boom")) }),
          ),
        ), /late boom/);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${root}/_tmp`)), []);
      assert.equal(await exists("x/y"), false);
    });

    await t.step("concurrent appends to one upload never interleave", async () => {
      const ref = await driver.uploads.create(crypto.randomUUID());
      const pieces = (fill: number) =>
        Array.from({ length: 8 }, () => new Uint8Array(100_000).fill(fill));
      await Promise.all([
        driver.uploads.append(ref, 0, trickle(pieces(1))),
        driver.uploads.append(ref, 0, trickle(pieces(2))),
      ]);
      const stored = await new Response(await driver.uploads.read(ref, 800_000)).bytes();
      assert.ok(stored.every((x) => x === stored[0]), "bytes of the two writers are mixed");
    });

    await t.step("a writer waiting for the lock never writes into a published file", async () => {
      const id = crypto.randomUUID();
      const ref = await driver.uploads.create(id);
      await driver.uploads.append(ref, 0, ReadableStream.from([new Uint8Array(100).fill(7)]));
      const data = `${root}/_uploads/${id}/data`;
      // The test plays the current writer (holding the lock) and then the publisher.
      const holder = await Deno.open(data, { read: true, write: true });
      await holder.lock(true);
      const stale = driver.uploads.append(ref, 50, ReadableStream.from([new Uint8Array(10)]));
      await sleep(50);
      await Deno.mkdir(`${root}/pub`, { recursive: true });
      await Deno.rename(data, `${root}/pub/blob`);
      holder.close();
      await assert.rejects(() => stale, /published or aborted meanwhile/);
      assert.deepEqual(await Deno.readFile(`${root}/pub/blob`), new Uint8Array(100).fill(7));
    });

    await t.step("publish renames: the upload folder is gone", async () => {
      const id = crypto.randomUUID();
      const ref = await driver.uploads.create(id);
      await driver.uploads.append(ref, 0, ReadableStream.from([new Uint8Array(10)]));
      assert.equal(await driver.uploads.publish(ref, 10, "pub/key"), "pub/key");
      assert.equal(await exists(`_uploads/${id}`), false);
      await assert.rejects(() => driver.uploads.read(ref, 1), /does not exist/);
    });

    await t.step("reading an upload past its end is refused", async () => {
      const ref = await driver.uploads.create(crypto.randomUUID());
      await driver.uploads.append(ref, 0, ReadableStream.from([new Uint8Array(10)]));
      await assert.rejects(() => driver.uploads.read(ref, 11), /holds 10 bytes/);
      await assert.rejects(
        () => driver.uploads.append(ref, 11, ReadableStream.from([])),
        /holds 10/,
      );
      await driver.uploads.abort(ref);
    });

    await t.step("delete removes emptied folders up to the root", async () => {
      await driver.write("gc/aa/one", ReadableStream.from([new Uint8Array(1)]));
      await driver.write("gc/aa/two", ReadableStream.from([new Uint8Array(1)]));
      await driver.write("gc/bb/three", ReadableStream.from([new Uint8Array(1)]));
      assert.equal(await driver.delete("gc/aa/one"), true);
      assert.equal(await exists("gc/aa"), true, "a folder with an object left was removed");
      assert.equal(await driver.delete("gc/aa/two"), true);
      assert.equal(await exists("gc/aa"), false);
      assert.equal(await exists("gc"), true);
      assert.equal(await driver.delete("gc/bb/three"), true);
      assert.equal(await exists("gc"), false);
      assert.equal(await exists(""), true, "the root itself was removed");
      assert.equal(await exists("_tmp"), true);
    });

    await t.step("writes racing deletes in one folder all land", async () => {
      // Each delete prunes the folder it empties while other writes rename into it.
      const one = new Uint8Array(1);
      for (let round = 0; round < 150; round++) {
        await Promise.all(Array.from({ length: 8 }, async (_, j) => {
          const key = `race/f/${round}-${j}`;
          assert.deepEqual(await driver.write(key, ReadableStream.from([one])), { size: 1 });
          assert.equal(await driver.delete(key), true);
        }));
      }
      assert.equal(await exists("race"), false);
    });

    await t.step("list of the whole store skips the driver's own folders", async () => {
      await driver.uploads.create(crypto.randomUUID());
      const keys = (await Array.fromAsync(driver.list(""))).map((e) => e.key);
      assert.ok(keys.length > 0);
      assert.ok(keys.every((k) => !k.startsWith("_")), keys.join(", "));
    });

    await t.step(
      "streams close their file: read to the end, cancelled, or never read",
      async () => {
        if (openFiles(root) === null) return; // no /proc: nothing to count
        await driver.write("fd/obj", ReadableStream.from([new Uint8Array(8 << 20)]));
        const before = openFiles(root);
        await new Response(await driver.read("fd/obj", { start: 10, end: 3 << 20 })).bytes();
        const partial = (await driver.read("fd/obj"))!.getReader();
        await partial.read();
        await partial.cancel();
        await (await driver.read("fd/obj", { start: 1 }))!.cancel();
        const ref = await driver.uploads.create(crypto.randomUUID());
        await driver.uploads.append(ref, 0, ReadableStream.from([new Uint8Array(3 << 20)]));
        await (await driver.uploads.read(ref, 3 << 20)).cancel();
        await sleep(20);
        assert.equal(openFiles(root), before, "a file handle leaked");
      },
    );

    await t.step("health fails when the root cannot take files", async () => {
      await Deno.remove(`${root}/_tmp`, { recursive: true });
      await assert.rejects(() => driver.health(), /is not writable/);
      await Deno.mkdir(`${root}/_tmp`);
      await driver.health();
    });
  } finally {
    await cleanup();
  }
});
