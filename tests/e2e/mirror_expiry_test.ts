import assert from "node:assert/strict";
import { body, pushImage, putManifest, sha256 } from "../helpers/oci.ts";
import { startMirror, waitCached } from "../helpers/mirror.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const TTL_MS = 1_500;

Deno.test("pulled-through content expires a ttl after its last pull; shared blobs stay", async (t) => {
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const dir = await Deno.makeTempDir({ prefix: "berth-mirror-expiry-" });
  const mirrors = [{
    prefix: "up.test",
    remoteurl: proxy.url,
    ttl: `${TTL_MS}ms`,
    revalidate: "1h",
  }];
  let mirror: TestRegistry = await startMirror(mirrors, { storage: "disk", dir });
  const image = await pushImage(upstream.url, "team/app", 2);
  assert.equal((await putManifest(upstream.url, "team/app", "v1", image.text)).status, 201);
  const other = await pushImage(upstream.url, "team/other", 1);
  assert.equal((await putManifest(upstream.url, "team/other", "v1", other.text)).status, 201);
  const blobs = [image.manifest.config, ...image.manifest.layers];
  const shared = image.manifest.layers[0];
  const m = (path: string, init?: RequestInit) => fetch(`${mirror.url}/v2/${path}`, init);
  const pull = async (repo: string, tag: string, digests: { digest: string }[]) => {
    const res = await m(`up.test/${repo}/manifests/${tag}`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    for (const d of digests) {
      const blob = await m(`up.test/${repo}/blobs/${d.digest}`);
      assert.equal(sha256(await blob.bytes()), d.digest);
    }
  };
  const expire = () => mirror.runtime.scheduler.runNow("mirror-expiry");
  const catalog = async () => (await body(await m("_catalog"))).repositories;
  try {
    await t.step("cached content stays while it is pulled within the ttl", async () => {
      await pull("team/app", "v1", blobs);
      for (const d of blobs) await waitCached(mirror.runtime, "up.test/team/app", d.digest);
      const mount = await m(
        `hosted/app/blobs/uploads/?mount=${shared.digest}&from=up.test/team/app`,
        { method: "POST" },
      );
      assert.equal(mount.status, 201, "a hosted repository links one cached layer");
      assert.ok(await expire());
      assert.deepEqual(await catalog(), ["hosted/app", "up.test/team/app"]);
    });

    await t.step("the expiry state survives a restart", async () => {
      await mirror.close();
      mirror = await startMirror(mirrors, { storage: "disk", dir });
      await pull("team/other", "v1", [other.manifest.config]);
      await new Promise((r) => setTimeout(r, TTL_MS + 300));
      await pull("team/other", "v1", []); // pulled again: stays
      assert.ok(await expire());
      assert.deepEqual(await catalog(), ["hosted/app", "up.test/team/other"]);
    });

    await t.step(
      "expired content is gone from the cache; the shared blob stays hosted",
      async () => {
        proxy.reset();
        await assertGone(m(`up.test/team/app/manifests/${image.digest}`), proxy, /manifests/);
        const hosted = await fetch(`${mirror.url}/v2/hosted/app/blobs/${shared.digest}`);
        assert.equal(hosted.status, 200);
        assert.equal(sha256(await hosted.bytes()), shared.digest);
      },
    );

    await t.step("the next pull fetches it all again", async () => {
      proxy.reset();
      await pull("team/app", "v1", blobs);
      assert.equal(proxy.count("GET", /\/manifests\/v1$/), 1);
      assert.equal(proxy.count("GET", /\/blobs\//), blobs.length, "every blob fetched again");
      assert.deepEqual(await catalog(), ["hosted/app", "up.test/team/app", "up.test/team/other"]);
    });
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

/** The mirror had to ask the upstream: the content was no longer cached. */
async function assertGone(
  response: Promise<Response>,
  proxy: ReturnType<typeof startUpstreamProxy>,
  path: RegExp,
) {
  const res = await response;
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(proxy.count("GET", path), 1, "fetched from the upstream again");
}
