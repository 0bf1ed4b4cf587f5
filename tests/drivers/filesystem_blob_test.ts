import assert from "node:assert/strict";
import { FilesystemBlobDriver } from "../../drivers/blob/filesystem.ts";
import { blobDriverSuite } from "./blob_driver_suite.ts";

async function make() {
  const root = await Deno.makeTempDir({ prefix: "berth-fs-" });
  return {
    driver: await FilesystemBlobDriver.open(root),
    root,
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}

blobDriverSuite("filesystem", make);

Deno.test("filesystem driver: what only files have", async (t) => {
  const { driver, root, cleanup } = await make();
  try {
    await t.step("unsafe keys are refused", async () => {
      for (const key of ["../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "a b"]) {
        await assert.rejects(() => driver.stat(key), /not safe/, key);
      }
    });
    await t.step("a failed write leaves no temp file behind", async () => {
      const failing = new ReadableStream({
        pull(c) {
          c.error(new Error("boom"));
        },
      });
      await assert.rejects(() => driver.write("x/y", failing));
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${root}/_tmp`)), []);
    });
    await t.step("concurrent appends to one upload never interleave", async () => {
      const ref = await driver.uploads.create(crypto.randomUUID());
      const a = new Uint8Array(4_000_000).fill(1), b = new Uint8Array(4_000_000).fill(2);
      const chunked = (d: Uint8Array) =>
        ReadableStream.from([d.subarray(0, 2_000_000), d.subarray(2_000_000)]);
      await Promise.all([
        driver.uploads.append(ref, 0, chunked(a)),
        driver.uploads.append(ref, 0, chunked(b)),
      ]);
      const stored = await new Response(await driver.uploads.read(ref, 4_000_000)).bytes();
      assert.ok(stored.every((x) => x === stored[0]), "bytes of the two writers are mixed");
    });
    await t.step("publish renames: the upload folder is gone", async () => {
      const id = crypto.randomUUID();
      const ref = await driver.uploads.create(id);
      await driver.uploads.append(ref, 0, ReadableStream.from([new Uint8Array(10)]));
      assert.equal(await driver.uploads.publish(ref, 10, "pub/key"), "pub/key");
      await assert.rejects(() => Deno.stat(`${root}/_uploads/${id}`), Deno.errors.NotFound);
    });
  } finally {
    await cleanup();
  }
});
