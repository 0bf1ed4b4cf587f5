/**
 * @module
 * The disk-full scenario of `tests/e2e/disk_full_test.ts`, run as a script inside a mount
 * namespace where `<dir>` is a small tmpfs: a registry whose blobs live there is pushed
 * to while the device is full, then after space is freed. Prints one line per step and
 * exits non-zero (with the failing assertion) when any step fails.
 *
 * Usage: `deno run -A tests/helpers/disk_full_scenario.ts <dir on a small tmpfs>`
 */
import assert from "node:assert/strict";
import { startRegistry } from "./registry.ts";
import { pushBlob, pushImage, putManifest, randomBytes, sha256 } from "./oci.ts";

const MiB = 1 << 20;
const REPO = "full/app";

/** Fills the device under `dir` with a file, leaving about `leave` bytes free. */
async function fill(path: string, leave: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, append: true });
  const chunk = new Uint8Array(64 * 1024);
  let written = (await file.stat()).size;
  try {
    for (;;) {
      written += await file.write(chunk);
    }
  } catch (err) {
    if (!(err instanceof Error) || !/space|os error 28/i.test(err.message)) throw err;
  } finally {
    file.close();
  }
  await Deno.truncate(path, Math.max(0, written - leave));
}

/** Entries of a folder (the driver's temp and upload areas), none when it is missing. */
async function entries(path: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(path))).map((e) => e.name);
  } catch {
    return [];
  }
}

async function expectFull(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 507, `${what}: ${res.status} ${text}`);
  const error = JSON.parse(text).errors[0];
  assert.equal(error.code, "UNAVAILABLE", text);
  assert.match(error.message, /full|no space/i, text);
}

async function main(dir: string): Promise<void> {
  const reg = await startRegistry({
    doc: {
      storage: { filesystem: { rootdirectory: `${dir}/blobs` } },
      berth: { metadata: { driver: "memory" } },
    },
  });
  const url = reg.url;
  const filler = `${dir}/filler`;
  try {
    const early = await pushBlob(url, REPO, randomBytes(MiB));
    const image = await pushImage(url, REPO, 2);
    console.log("step: pushed before the disk filled");

    await fill(filler, 512 * 1024);
    const big = randomBytes(4 * MiB);
    await expectFull(
      await fetch(`${url}/v2/${REPO}/blobs/uploads/?digest=${sha256(big)}`, {
        method: "POST",
        body: big as BodyInit,
      }),
      "monolithic push onto a full disk",
    );
    const head = await fetch(`${url}/v2/${REPO}/blobs/${sha256(big)}`, { method: "HEAD" });
    assert.equal(head.status, 404, "a partial blob is visible");
    assert.deepEqual(await entries(`${dir}/blobs/_tmp`), [], "temp files left behind");
    console.log("step: a monolithic push is refused with 507 and leaves nothing");

    const post = await fetch(`${url}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 202);
    const patch = await fetch(url + post.headers.get("location"), {
      method: "PATCH",
      body: big as BodyInit,
      headers: { "Content-Range": `0-${big.byteLength - 1}` },
    });
    await expectFull(patch, "chunk onto a full disk");
    const status = await fetch(url + post.headers.get("location"));
    await status.body?.cancel();
    assert.equal(status.status, 204, "the session survives");
    assert.equal(status.headers.get("upload-offset"), "0", "part of the chunk was kept");
    console.log("step: a chunk is refused with 507 and the session stays at its offset");

    await fill(filler, 0);
    await expectFull(await putManifest(url, REPO, "v1", image.text), "manifest onto a full disk");
    const tag = await fetch(`${url}/v2/${REPO}/manifests/v1`, { method: "HEAD" });
    assert.equal(tag.status, 404, "a manifest was linked without its bytes");
    console.log("step: a manifest push is refused with 507 and links nothing");

    // Reads go on while the disk is full.
    const read = await fetch(`${url}/v2/${REPO}/blobs/${early.digest}`);
    assert.equal(sha256(await read.bytes()), early.digest);

    await Deno.remove(filler);
    const again = await fetch(url + status.headers.get("location"), {
      method: "PATCH",
      body: big as BodyInit,
      headers: { "Content-Range": `0-${big.byteLength - 1}` },
    });
    assert.equal(again.status, 202, await again.text());
    const put = await fetch(`${url}${again.headers.get("location")}&digest=${sha256(big)}`, {
      method: "PUT",
    });
    assert.equal(put.status, 201, await put.text());
    assert.equal((await putManifest(url, REPO, "v1", image.text)).status, 201);
    const blob = await fetch(`${url}/v2/${REPO}/blobs/${sha256(big)}`);
    assert.equal(sha256(await blob.bytes()), sha256(big));
    const manifest = await fetch(`${url}/v2/${REPO}/manifests/v1`);
    assert.equal(await manifest.text(), image.text);
    console.log("step: with space freed the same session and manifest push succeed");
  } finally {
    await reg.close();
  }
}

if (import.meta.main) await main(Deno.args[0]);
