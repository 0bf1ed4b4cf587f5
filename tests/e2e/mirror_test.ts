import assert from "node:assert/strict";
import {
  assertError,
  body,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  sha256,
} from "../helpers/oci.ts";
import { mirrorStats, startMirror, waitCached } from "../helpers/mirror.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`a cold blob of many upstream chunks reaches the client whole (${storage})`, async () => {
    // Larger than several of the upstream reads a copy gathers, so the store and the
    // client read the same chunks of the copy: neither may take them from the other.
    const upstream = await startRegistry();
    const mirror = await startMirror([{ prefix: "up.test", remoteurl: upstream.url }], {
      storage,
    });
    try {
      const data = randomBytes(3 * 1024 * 1024 + 4321);
      const { digest } = await pushBlob(upstream.url, "library/big", data);
      const url = `${mirror.url}/v2/up.test/library/big/blobs/${digest}`;
      const cold = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      assert.equal(cold.status, 200);
      assert.equal(cold.headers.get("content-length"), String(data.byteLength));
      assert.equal(sha256(await cold.bytes()), digest);
      await waitCached(mirror.runtime, "up.test/library/big", digest);
      const warm = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      assert.equal(sha256(await warm.bytes()), digest);
    } finally {
      await mirror.close();
      await upstream.close();
    }
  });
}

Deno.test("a mirror pulls through from its upstream and serves what it cached", async (t) => {
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([
    { prefix: "up.test", remoteurl: proxy.url, revalidate: "1h" },
    { prefix: "fresh.test", remoteurl: proxy.url, revalidate: "0" },
  ]);
  const image = await pushImage(upstream.url, "library/app", 2);
  const put = await putManifest(upstream.url, "library/app", "v1", image.text);
  assert.equal(put.status, 201);
  const m = (path: string, init?: RequestInit) => fetch(`${mirror.url}/v2/${path}`, init);
  try {
    await t.step("a tag pulls through with the upstream's digests", async () => {
      const res = await m("up.test/library/app/manifests/v1", {
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("docker-content-digest"), image.digest);
      assert.equal(res.headers.get("content-type"), OCI_MANIFEST);
      assert.equal(await res.text(), image.text);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        const blob = await m(`up.test/library/app/blobs/${d.digest}`);
        assert.equal(blob.status, 200);
        assert.equal(blob.headers.get("content-length"), String(d.size));
        assert.equal(sha256(await blob.bytes()), d.digest);
      }
      const stats = mirrorStats(mirror.runtime, "up.test");
      assert.equal(stats.misses, 4);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        await waitCached(mirror.runtime, "up.test/library/app", d.digest);
      }
    });

    await t.step("a warm pull within revalidate asks the upstream nothing", async () => {
      proxy.reset();
      const res = await m("up.test/library/app/manifests/v1");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), image.text);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        const blob = await m(`up.test/library/app/blobs/${d.digest}`);
        assert.equal(sha256(await blob.bytes()), d.digest);
      }
      assert.deepEqual(proxy.seen, []);
      assert.ok(mirrorStats(mirror.runtime, "up.test").hits >= 4);
    });

    await t.step("a warm pull past revalidate costs one manifest HEAD", async () => {
      const first = await m("fresh.test/library/app/manifests/v1");
      await first.body?.cancel();
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        await (await m(`fresh.test/library/app/blobs/${d.digest}`)).bytes();
      }
      proxy.reset();
      const res = await m("fresh.test/library/app/manifests/v1");
      assert.equal(await res.text(), image.text);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        await (await m(`fresh.test/library/app/blobs/${d.digest}`)).bytes();
      }
      assert.deepEqual(proxy.seen.map((s) => `${s.method} ${s.path}`), [
        "HEAD /v2/library/app/manifests/v1",
      ]);
    });

    await t.step(
      "a manifest by digest is served from the cache with no upstream call",
      async () => {
        proxy.reset();
        const res = await m(`up.test/library/app/manifests/${image.digest}`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), image.text);
        assert.equal(proxy.seen.length, 0);
      },
    );

    await t.step("a HEAD of an uncached index stores it, so the GET is local", async () => {
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: image.digest, size: image.size }],
      };
      const text = JSON.stringify(index);
      assert.equal(
        (await putManifest(upstream.url, "library/app", "multi", text, OCI_INDEX)).status,
        201,
      );
      proxy.reset();
      const head = await m(`up.test/library/app/manifests/${sha256(text)}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), OCI_INDEX);
      assert.equal(proxy.count("GET", /manifests/), 1);
      const get = await m(`up.test/library/app/manifests/${sha256(text)}`);
      assert.equal(await get.text(), text);
      assert.equal(proxy.seen.length, 1, "the GET after the HEAD is local");
    });

    await t.step("a cold range request gets its bytes, and the whole blob is cached", async () => {
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const { digest } = await pushBlob(upstream.url, "library/app", data);
      proxy.reset();
      const res = await m(`up.test/library/app/blobs/${digest}`, {
        headers: { Range: "bytes=1000000-1000099" },
      });
      assert.equal(res.status, 206);
      assert.deepEqual(await res.bytes(), data.subarray(1_000_000, 1_000_100));
      const whole = await m(`up.test/library/app/blobs/${digest}`);
      assert.equal(sha256(await whole.bytes()), digest);
      assert.equal(proxy.count("GET", /blobs/), 1, "one upstream GET for both");
    });

    await t.step("what the upstream does not have is unknown", async () => {
      const missing = sha256("nothing");
      await assertError(await m(`up.test/library/app/blobs/${missing}`), 404, "BLOB_UNKNOWN");
      await assertError(
        await m(`up.test/library/app/manifests/${missing}`),
        404,
        "MANIFEST_UNKNOWN",
      );
      await assertError(await m("up.test/library/app/manifests/nope"), 404, "MANIFEST_UNKNOWN");
      await assertError(await m("up.test/library/none/tags/list"), 404, "NAME_UNKNOWN");
      await assertError(await m("up.test/manifests/v1"), 404, "NAME_UNKNOWN");
    });

    await t.step("pushes, deletes and mounts into a mirror are UNSUPPORTED", async () => {
      const data = new TextEncoder().encode("pushed");
      await assertError(
        await m(`up.test/library/app/blobs/uploads/?digest=${sha256(data)}`, {
          method: "POST",
          body: data,
        }),
        405,
        "UNSUPPORTED",
      );
      await assertError(
        await m("up.test/library/app/blobs/uploads/", { method: "POST" }),
        405,
        "UNSUPPORTED",
      );
      await assertError(
        await putManifest(mirror.url, "up.test/library/app", "v2", image.text),
        405,
        "UNSUPPORTED",
      );
      await assertError(
        await m(`up.test/library/app/manifests/${image.digest}`, { method: "DELETE" }),
        405,
        "UNSUPPORTED",
      );
      await assertError(
        await m(`up.test/library/app/blobs/${image.manifest.layers[0].digest}`, {
          method: "DELETE",
        }),
        405,
        "UNSUPPORTED",
      );
      const layer = image.manifest.layers[0].digest;
      await pushBlob(mirror.url, "hosted/app", "x");
      await assertError(
        await m(`up.test/library/app/blobs/uploads/?mount=${layer}&from=hosted/app`, {
          method: "POST",
        }),
        405,
        "UNSUPPORTED",
      );
    });

    await t.step("hosted repositories next to the mirror work as before", async () => {
      const hosted = await pushImage(mirror.url, "hosted/app", 1);
      assert.equal((await putManifest(mirror.url, "hosted/app", "v1", hosted.text)).status, 201);
      const res = await m("hosted/app/manifests/v1");
      assert.equal(await res.text(), hosted.text);
      // A hosted repository may mount from the cache.
      const layer = image.manifest.layers[0];
      const mount = await m(
        `hosted/app/blobs/uploads/?mount=${layer.digest}&from=up.test/library/app`,
        {
          method: "POST",
        },
      );
      assert.equal(mount.status, 201);
    });

    await t.step("?ns= serves the mirror whose prefix is the namespace", async () => {
      proxy.reset();
      const res = await m("library/app/manifests/v1?ns=up.test");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("oci-namespace"), "up.test");
      assert.equal(await res.text(), image.text);
      const layer = image.manifest.layers[0].digest;
      const blob = await m(`library/app/blobs/${layer}?ns=up.test`);
      assert.equal(sha256(await blob.bytes()), layer);
      assert.deepEqual(proxy.seen, [], "served from the cache of up.test/library/app");
    });

    await t.step("an ns that names no mirror is NAME_UNKNOWN, never local content", async () => {
      proxy.reset();
      const res = await m("hosted/app/manifests/v1?ns=elsewhere.example");
      await assertError(res, 404, "NAME_UNKNOWN");
      assert.equal(proxy.seen.length, 0);
      const own = await m(`hosted/app/manifests/v1?ns=${mirror.host}`);
      assert.equal(own.status, 200, "the registry's own name serves hosted repositories");
      assert.equal(own.headers.get("oci-namespace"), mirror.host);
      await own.body?.cancel();
    });

    await t.step("referrers come from the upstream", async () => {
      const config = await pushBlob(upstream.url, "library/app", "{}");
      const artifact = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/vnd.example.sbom",
        config: { mediaType: "application/vnd.oci.empty.v1+json", ...config },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size },
      };
      const text = JSON.stringify(artifact);
      assert.equal(
        (await putManifest(upstream.url, "library/app", sha256(text), text)).status,
        201,
      );
      const res = await m(`up.test/library/app/referrers/${image.digest}`);
      assert.equal(res.status, 200);
      const index = await body(res);
      assert.deepEqual(
        (index.manifests as { digest: string; artifactType: string }[]).map((
          d,
        ) => [d.digest, d.artifactType]),
        [[sha256(text), "application/vnd.example.sbom"]],
      );
      const filtered = await m(`up.test/library/app/referrers/${image.digest}?artifactType=other`);
      assert.deepEqual((await body(filtered)).manifests, []);
    });

    await t.step("the catalog lists what is cached; tags come from the upstream", async () => {
      const catalog = await body(await m("_catalog"));
      assert.deepEqual(catalog.repositories, [
        "fresh.test/library/app",
        "hosted/app",
        "up.test/library/app",
      ]);
      const tags = await body(await m("up.test/library/app/tags/list"));
      assert.deepEqual(tags, { name: "up.test/library/app", tags: ["multi", "v1"] });
      const page = await m("up.test/library/app/tags/list?n=1");
      assert.deepEqual((await body(page)).tags, ["multi"]);
      assert.match(page.headers.get("link") ?? "", /last=multi/);
    });
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});
