/**
 * @module
 * Prometheus metrics on distribution's debug server: after known traffic, `/metrics`
 * counts it under distribution's names and labels (route handlers, codes, lowercase
 * methods, storage actions per driver), Berth's own series (metadata commits and
 * conflicts, open upload sessions, requests in flight) move as they should, the text
 * passes `promtool check metrics`, and nothing is served on the public port.
 */
import assert from "node:assert/strict";
import type { CapabilityFactory } from "../../src/capability.ts";
import { pushBlob, pushImage, putManifest, randomBytes } from "../helpers/oci.ts";
import {
  assertPromtoolAccepts,
  parseSamples,
  type Sample,
  valueOf,
} from "../helpers/prometheus.ts";
import { type Served, startServing } from "../helpers/serving.ts";

const DEBUG = { addr: "127.0.0.1:0", prometheus: { enabled: true, path: "/metrics" } };

async function scrape(
  served: Served,
  path = "/metrics",
): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(`${served.debugUrl}${path}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  return { text, samples: parseSamples(text) };
}

Deno.test("metrics: known traffic is counted under distribution's names and labels", async () => {
  const served = await startServing({ http: { debug: DEBUG } });
  try {
    const repo = "team/app";
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${served.url}/v2/`);
      await res.body?.cancel();
    }
    const image = await pushImage(served.url, repo, 2); // 3 monolithic blob POSTs
    const put = await putManifest(served.url, repo, "v1", image.text);
    assert.equal(put.status, 201);
    await put.body?.cancel();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${served.url}/v2/${repo}/manifests/v1`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    const missing = await fetch(`${served.url}/v2/${repo}/manifests/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const big = await pushBlob(served.url, repo, randomBytes(300_000));
    const got = await fetch(`${served.url}/v2/${repo}/blobs/${big.digest}`);
    assert.equal((await got.bytes()).byteLength, 300_000);
    const head = await fetch(`${served.url}/v2/${repo}/blobs/${big.digest}`, { method: "HEAD" });
    assert.equal(head.status, 200);

    // Not on the public port.
    const publicMetrics = await fetch(`${served.url}/metrics`);
    assert.equal(publicMetrics.status, 404);
    await publicMetrics.body?.cancel();

    const { text, samples } = await scrape(served);
    const requests = (labels: Record<string, string>) =>
      valueOf(samples, "registry_http_requests_total", labels);
    assert.equal(requests({ handler: "base", code: "200", method: "get" }), 3);
    assert.equal(requests({ handler: "blob_upload", code: "201", method: "post" }), 4);
    assert.equal(requests({ handler: "manifest", code: "201", method: "put" }), 1);
    assert.equal(requests({ handler: "manifest", code: "200", method: "get" }), 2);
    assert.equal(requests({ handler: "manifest", code: "404", method: "get" }), 1);
    assert.equal(requests({ handler: "blob", code: "200", method: "get" }), 1);
    assert.equal(requests({ handler: "blob", code: "200", method: "head" }), 1);
    // An unmatched path is not a handler's request (as in distribution).
    assert.ok(!samples.some((s) => s.name === "registry_http_requests_total" && !s.labels.handler));

    const count = (name: string, labels: Record<string, string>) =>
      valueOf(samples, `${name}_count`, labels);
    assert.equal(
      count("registry_http_request_duration_seconds", { handler: "base", method: "get" }),
      3,
    );
    assert.equal(
      valueOf(samples, "registry_http_request_duration_seconds_bucket", {
        handler: "base",
        method: "get",
        le: "+Inf",
      }),
      3,
    );
    // The streamed blob GET is counted with every byte it sent; the HEAD with none.
    assert.equal(count("registry_http_response_size_bytes", { handler: "blob" }), 2);
    assert.equal(
      valueOf(samples, "registry_http_response_size_bytes_sum", { handler: "blob" }),
      300_000,
    );
    assert.ok(
      valueOf(samples, "registry_http_request_size_bytes_sum", { handler: "blob_upload" }) >=
        300_000,
    );
    assert.equal(valueOf(samples, "registry_http_in_flight_requests", { handler: "blob" }), 0);

    // Storage actions per driver, distribution's action names.
    const action = (a: string) =>
      count("registry_storage_action_seconds", { driver: "memory", action: a });
    assert.ok(action("Writer") >= 4, `Writer ${action("Writer")}`);
    assert.ok(action("Move") >= 4, `Move ${action("Move")}`);
    assert.ok(action("Reader") >= 1, `Reader ${action("Reader")}`); // manifests come from a cache
    assert.ok(action("PutContent") >= 1, `PutContent ${action("PutContent")}`);

    assert.ok(count("berth_metadata_commit_seconds", { store: "memory" }) >= 5);
    // No repository names in labels.
    for (const s of samples) {
      for (const v of Object.values(s.labels)) assert.ok(!v.includes(repo), `${s.name} names ${v}`);
    }
    await assertPromtoolAccepts(text);
  } finally {
    await served.close();
  }
});

Deno.test("metrics: metadata conflicts, open upload sessions and requests in flight", async () => {
  const served = await startServing({ http: { debug: DEBUG } });
  try {
    // A commit whose check fails is a conflict.
    const store = served.runtime.drivers.metadata;
    const key = ["test", "conflict"];
    assert.ok(await store.commit([{ key, version: null }], [{ type: "set", key, value: 1 }]));
    assert.equal(
      await store.commit([{ key, version: null }], [{ type: "set", key, value: 2 }]),
      null,
    );
    let { samples } = await scrape(served);
    assert.equal(valueOf(samples, "berth_metadata_commit_conflicts_total", { store: "memory" }), 1);

    // Sessions: two opened, one cancelled.
    const locations: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${served.url}/v2/a/blobs/uploads/`, { method: "POST" });
      assert.equal(res.status, 202);
      locations.push(new URL(res.headers.get("location")!, served.url).href);
    }
    ({ samples } = await scrape(served));
    assert.equal(valueOf(samples, "berth_upload_sessions"), 2);
    const cancelled = await fetch(locations[1], { method: "DELETE" });
    assert.equal(cancelled.status, 204);
    ({ samples } = await scrape(served));
    assert.equal(valueOf(samples, "berth_upload_sessions"), 1);

    // A PATCH whose body is still arriving is in flight.
    const body = new TransformStream<Uint8Array, Uint8Array>();
    const writer = body.writable.getWriter();
    const patch = fetch(locations[0], {
      method: "PATCH",
      body: body.readable,
      headers: { "Content-Type": "application/octet-stream" },
    });
    await writer.write(new Uint8Array(1000));
    let inFlight = 0;
    for (let i = 0; i < 100 && inFlight === 0; i++) {
      ({ samples } = await scrape(served));
      inFlight = valueOf(samples, "registry_http_in_flight_requests", {
        handler: "blob_upload_chunk",
      });
      if (!inFlight) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(inFlight, 1);
    await writer.close();
    const res = await patch;
    assert.equal(res.status, 202);
    await res.body?.cancel();
    ({ samples } = await scrape(served));
    assert.equal(
      valueOf(samples, "registry_http_in_flight_requests", { handler: "blob_upload_chunk" }),
      0,
    );
    assert.equal(
      valueOf(samples, "registry_http_requests_total", {
        handler: "blob_upload_chunk",
        code: "202",
        method: "patch",
      }),
      1,
    );
  } finally {
    await served.close();
  }
});

Deno.test("metrics: other capabilities register their counters on the same registry", async () => {
  const mirror: CapabilityFactory = (ctx) => {
    const hits = ctx.metrics.counter({
      name: "registry_proxy_hits_total",
      help: "The number of total proxy request hits",
      labels: ["type"],
    });
    hits.labels("blob").inc(3);
    // Registering the same series again finds the one there.
    assert.equal(ctx.metrics.counter({ ...hits, labels: ["type"] }), hits);
    assert.throws(
      () => ctx.metrics.gauge({ name: "registry_proxy_hits_total", help: "x" }),
      /already/,
    );
    return Promise.resolve({ name: "test-mirror" });
  };
  const served = await startServing({
    http: { debug: { addr: "127.0.0.1:0", prometheus: { enabled: true, path: "/prom" } } },
  }, { capabilities: [mirror] });
  try {
    const { samples } = await scrape(served, "/prom");
    assert.equal(valueOf(samples, "registry_proxy_hits_total", { type: "blob" }), 3);
    const old = await fetch(`${served.debugUrl}/metrics`);
    assert.equal(old.status, 404);
    await old.body?.cancel();
  } finally {
    await served.close();
  }
});

Deno.test("metrics: off unless http.debug.prometheus.enabled; no debug server without http.debug", async () => {
  const off = await startServing({ http: { debug: { addr: "127.0.0.1:0" } } });
  try {
    const res = await fetch(`${off.debugUrl}/metrics`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const health = await fetch(`${off.debugUrl}/debug/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {});
    // Nothing counts requests when metrics are off.
    await (await fetch(`${off.url}/v2/`)).body?.cancel();
    assert.equal(off.runtime.metrics.get("registry_http_requests_total"), undefined);
  } finally {
    await off.close();
  }
  const none = await startServing();
  try {
    assert.equal(none.debugUrl, undefined);
    const res = await fetch(`${none.url}/metrics`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await none.close();
  }
});
