import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createLogger } from "../../src/log.ts";
import { meta } from "../../src/registry/keys.ts";
import { assertError, pushBlob, pushImage, putManifest, randomBytes } from "../helpers/oci.ts";
import { startMirror } from "../helpers/mirror.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const MiB = 1024 * 1024;

/** Reads a response body to its end; the byte count, or the error that cut it short. */
async function drain(
  res: Response,
): Promise<{ bytes: number; digest: string } | { error: unknown }> {
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of res.body!) {
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
  } catch (error) {
    return { error };
  }
  return { bytes, digest: `sha256:${hash.digest("hex")}` };
}

/** Waits until `check` is true (the copy of a blob runs on after its request). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a lying upstream's bytes reach no client whole and are never cached", async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: "warn", instanceId: "t", write: (_, l) => lines.push(l) });
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([{ prefix: "up.test", remoteurl: proxy.url }], {
    storage: "disk",
    logger,
  });
  const store = mirror.runtime.drivers.metadata;
  try {
    await t.step(
      "a flipped byte in a blob: the response is cut short, nothing stored",
      async () => {
        const data = randomBytes(2 * MiB + 5);
        const { digest } = await pushBlob(upstream.url, "team/app", data);
        proxy.mode.flipAt = 1_500_000;
        const res = await fetch(`${mirror.url}/v2/up.test/team/app/blobs/${digest}`);
        assert.equal(res.status, 200);
        const got = await drain(res);
        assert.ok(
          "error" in got || got.bytes < data.byteLength,
          "the client never receives the whole (wrong) blob",
        );
        await eventually(
          () => Promise.resolve(lines.some((l) => l.includes("do not match their digest"))),
          "the mismatch to be logged",
        );
        assert.equal(await store.get(meta.blob(digest)), null);
        assert.equal(await store.get(meta.layer("up.test/team/app", digest)), null);
        proxy.mode.flipAt = null;
        proxy.reset();
        const honest = await drain(
          await fetch(`${mirror.url}/v2/up.test/team/app/blobs/${digest}`),
        );
        assert.deepEqual(honest, { bytes: data.byteLength, digest });
        assert.equal(proxy.count("GET", /blobs/), 1, "fetched again, since nothing was kept");
      },
    );

    await t.step("a flipped byte in a manifest by digest: 503, nothing stored", async () => {
      const image = await pushImage(upstream.url, "team/app", 1);
      assert.equal((await putManifest(upstream.url, "team/app", "v1", image.text)).status, 201);
      proxy.mode.flipAt = 30;
      const res = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/${image.digest}`);
      await assertError(res, 503, "UNAVAILABLE");
      assert.equal(await store.get(meta.manifest("up.test/team/app", image.digest)), null);
      assert.ok(lines.some((l) => l.includes("manifest does not match its digest")));
      proxy.mode.flipAt = null;
      const ok = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/${image.digest}`);
      assert.equal(await ok.text(), image.text);
    });

    await t.step("cached bytes lost from disk are fetched again and repaired", async () => {
      const data = randomBytes(300_000);
      const { digest } = await pushBlob(upstream.url, "team/app", data);
      const url = `${mirror.url}/v2/up.test/team/app/blobs/${digest}`;
      assert.deepEqual(await drain(await fetch(url)), { bytes: data.byteLength, digest });
      const hex = digest.slice(7);
      const file = `${mirror.dir}/blobs/blobs/sha256/${hex.slice(0, 2)}/${hex}`;
      // The client has the bytes once they are verified; the store may still be publishing.
      await eventually(() => Deno.stat(file).then(() => true, () => false), "the stored file");
      await eventually(
        async () => (await store.get(meta.layer("up.test/team/app", digest))) !== null,
        "the link",
      );
      await Deno.remove(file);
      proxy.reset();
      assert.deepEqual(await drain(await fetch(url)), { bytes: data.byteLength, digest });
      assert.equal(proxy.count("GET", /blobs/), 1);
      proxy.reset();
      assert.deepEqual(await drain(await fetch(url)), { bytes: data.byteLength, digest });
      assert.deepEqual(proxy.seen, [], "repaired: served from the cache again");
    });
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});

Deno.test("a client that disconnects after 1 MiB of a cold 64 MiB blob leaves it cached", async () => {
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([{ prefix: "up.test", remoteurl: proxy.url }], {
    storage: "disk",
  });
  const store = mirror.runtime.drivers.metadata;
  try {
    const data = randomBytes(64 * MiB);
    const { digest } = await pushBlob(upstream.url, "team/big", data);
    const res = await fetch(`${mirror.url}/v2/up.test/team/big/blobs/${digest}`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let got = 0;
    while (got < MiB) {
      const { done, value } = await reader.read();
      assert.ok(!done, "the body ended before 1 MiB");
      got += value.byteLength;
    }
    await reader.cancel();
    await eventually(
      async () => (await store.get(meta.layer("up.test/team/big", digest))) !== null,
      "the copy to finish",
    );
    proxy.reset();
    const again = await drain(await fetch(`${mirror.url}/v2/up.test/team/big/blobs/${digest}`));
    assert.deepEqual(again, { bytes: data.byteLength, digest });
    assert.deepEqual(proxy.seen, [], "the second pull is served from the cache");
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});
