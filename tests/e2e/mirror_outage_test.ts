import assert from "node:assert/strict";
import { assertError, body, pushImage, putManifest } from "../helpers/oci.ts";
import { mirrorStats, startMirror, startRestartableUpstream } from "../helpers/mirror.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const STALE = '110 - "Response is Stale"';

Deno.test("a mirror survives its upstream's outage and resumes when it is back", async (t) => {
  const upstream = await startRestartableUpstream();
  const mirror = await startMirror([
    { prefix: "up.test", remoteurl: upstream.url, revalidate: "0", timeout: "2s" },
  ]);
  const v1 = await pushImage(upstream.url, "team/app", 1);
  assert.equal((await putManifest(upstream.url, "team/app", "v1", v1.text)).status, 201);
  const never = await pushImage(upstream.url, "team/never", 1);
  assert.equal((await putManifest(upstream.url, "team/never", "v1", never.text)).status, 201);
  const m = (path: string, init?: RequestInit) => fetch(`${mirror.url}/v2/${path}`, init);
  const pullAll = async () => {
    const res = await m("up.test/team/app/manifests/v1");
    const text = await res.text();
    for (const d of [v1.manifest.config, ...v1.manifest.layers]) {
      const blob = await m(`up.test/team/app/blobs/${d.digest}`);
      assert.equal(blob.status, 200);
      await blob.bytes();
    }
    return { res, text };
  };
  try {
    await t.step("while the upstream is up, answers are fresh", async () => {
      const { res, text } = await pullAll();
      assert.equal(res.status, 200);
      assert.equal(text, v1.text);
      assert.equal(res.headers.get("warning"), null);
    });

    await upstream.stop();

    await t.step("cached tags pull, marked stale; cached digests pull as they are", async () => {
      const { res, text } = await pullAll();
      assert.equal(res.status, 200);
      assert.equal(text, v1.text);
      assert.equal(res.headers.get("warning"), STALE);
      const head = await m("up.test/team/app/manifests/v1", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("warning"), STALE);
      const byDigest = await m(`up.test/team/app/manifests/${v1.digest}`);
      assert.equal(await byDigest.text(), v1.text);
      assert.equal(byDigest.headers.get("warning"), null);
      assert.ok(mirrorStats(mirror.runtime, "up.test").stale >= 2);
    });

    await t.step("the cached tags list is served, marked stale", async () => {
      const res = await m("up.test/team/app/tags/list");
      assert.equal(res.headers.get("warning"), STALE);
      assert.deepEqual(await body(res), { name: "up.test/team/app", tags: ["v1"] });
    });

    await t.step("what was never cached fails fast with 503", async () => {
      const started = performance.now();
      const res = await m("up.test/team/never/manifests/v1");
      const elapsed = performance.now() - started;
      assert.equal(res.headers.get("retry-after"), "5");
      await assertError(res, 503, "UNAVAILABLE");
      await assertError(
        await m(`up.test/team/never/manifests/${never.digest}`),
        503,
        "UNAVAILABLE",
      );
      const layer = never.manifest.layers[0].digest;
      await assertError(await m(`up.test/team/never/blobs/${layer}`), 503, "UNAVAILABLE");
      await assertError(await m("up.test/team/never/tags/list"), 503, "UNAVAILABLE");
      // Refused connections fail at once, well inside the 2 s timeout.
      assert.ok(elapsed < 1500, `took ${elapsed} ms`);
    });

    await upstream.start();

    await t.step("back up: revalidation resumes and a retag upstream is seen", async () => {
      const fresh = await pullAll();
      assert.equal(fresh.res.headers.get("warning"), null);
      const v2 = await pushImage(upstream.url, "team/app", 1);
      assert.equal((await putManifest(upstream.url, "team/app", "v1", v2.text)).status, 201);
      const moved = await m("up.test/team/app/manifests/v1");
      assert.equal(moved.headers.get("docker-content-digest"), v2.digest);
      assert.equal(await moved.text(), v2.text);
      const never1 = await m("up.test/team/never/manifests/v1");
      assert.equal(never1.status, 200);
      await never1.body?.cancel();
    });
  } finally {
    await mirror.close();
    await upstream.close();
  }
});

Deno.test("an upstream that stops answering is given up on after the timeout", async () => {
  const upstream = await startRestartableUpstream();
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([
    { prefix: "up.test", remoteurl: proxy.url, revalidate: "0", timeout: "300ms" },
  ]);
  const image = await pushImage(upstream.url, "team/app", 1);
  assert.equal((await putManifest(upstream.url, "team/app", "v1", image.text)).status, 201);
  try {
    const warm = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/v1`);
    assert.equal(warm.status, 200);
    await warm.body?.cancel();
    proxy.mode.delayMs = 5_000;
    const started = performance.now();
    const stale = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/v1`);
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get("warning"), STALE);
    assert.equal(await stale.text(), image.text);
    const cold = await fetch(`${mirror.url}/v2/up.test/team/other/manifests/v1`);
    await assertError(cold, 503, "UNAVAILABLE");
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 4_000, `two timed-out requests took ${elapsed} ms`);
    proxy.mode.delayMs = 0;
    proxy.mode.unavailable = true;
    const failing = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/v1`);
    assert.equal(failing.headers.get("warning"), STALE, "a 5xx upstream is an outage too");
    await failing.body?.cancel();
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});
