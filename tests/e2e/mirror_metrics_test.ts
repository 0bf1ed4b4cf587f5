/**
 * @module
 * A mirror's work is counted on the debug server: distribution's proxy series by type
 * (requests, hits, misses) and Berth's per-mirror upstream requests and bytes.
 */
import assert from "node:assert/strict";
import { pushImage, putManifest } from "../helpers/oci.ts";
import { parseSamples, valueOf } from "../helpers/prometheus.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startServing } from "../helpers/serving.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

Deno.test("mirror counters are served as Prometheus series", async () => {
  const upstream = await startRegistry();
  const served = await startServing({
    http: { debug: { addr: "127.0.0.1:0", prometheus: { enabled: true, path: "/metrics" } } },
    berth: { mirrors: [{ prefix: "up.test", remoteurl: upstream.url, revalidate: "1h" }] },
  });
  try {
    const image = await pushImage(upstream.url, "library/app", 1);
    assert.equal((await putManifest(upstream.url, "library/app", "v1", image.text)).status, 201);
    const layer = image.manifest.layers[0];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${served.url}/v2/up.test/library/app/manifests/v1`, {
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(await res.text(), image.text);
    }
    const blob = await fetch(`${served.url}/v2/up.test/library/app/blobs/${layer.digest}`);
    assert.equal((await blob.bytes()).byteLength, layer.size);
    const samples = parseSamples(await (await fetch(`${served.debugUrl}/metrics`)).text());
    const v = (name: string, labels: Record<string, string>) => valueOf(samples, name, labels);
    assert.equal(v("registry_proxy_requests_total", { type: "manifest" }), 2);
    assert.equal(v("registry_proxy_misses_total", { type: "manifest" }), 1);
    assert.equal(v("registry_proxy_hits_total", { type: "manifest" }), 1);
    assert.equal(v("registry_proxy_misses_total", { type: "blob" }), 1);
    assert.ok(v("berth_proxy_upstream_requests_total", { mirror: "up.test" }) >= 2);
    assert.ok(
      v("berth_proxy_upstream_bytes_total", { mirror: "up.test" }) >= layer.size,
      "the blob's bytes from the upstream are not counted",
    );
  } finally {
    await served.close();
    await upstream.close();
  }
});
