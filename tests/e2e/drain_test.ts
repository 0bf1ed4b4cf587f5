/**
 * @module
 * The graceful drain of a real `berth serve` process on SIGTERM: readiness fails at once
 * (`/healthz` and `/debug/health` answer 503) and new requests are turned away with 503
 * `UNAVAILABLE`, while an upload in flight finishes and is acknowledged before the process
 * exits 0. When the upload outlasts `http.draintimeout`, the process still exits, and
 * after a restart the session continues from its last committed offset to a verified blob.
 */
import assert from "node:assert/strict";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";
import { type BerthProcess, spawnBerth } from "../helpers/process.ts";

const REPO = "drain/app";

function start(dir: string, drainTimeout: string): Promise<BerthProcess> {
  return spawnBerth({
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_HTTP_DRAINTIMEOUT: drainTimeout,
    REGISTRY_HTTP_DEBUG_ADDR: "127.0.0.1:0",
    REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: "true",
    REGISTRY_HTTP_SECRET: "drain-test-secret",
    REGISTRY_LOG_LEVEL: "info",
  });
}

function debugUrl(berth: BerthProcess): string {
  const line = berth.output.find((l) => l.includes('"msg":"listening"'))!;
  return `http://${JSON.parse(line).debug}`;
}

/** Opens a session and commits `first` into it; returns the next chunk's URL. */
async function startUpload(berth: BerthProcess, first: Uint8Array): Promise<string> {
  const post = await fetch(`${berth.url}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
  assert.equal(post.status, 202);
  const patch = await fetch(new URL(post.headers.get("location")!, berth.url), {
    method: "PATCH",
    body: first as BodyInit,
    headers: { "Content-Range": `0-${first.byteLength - 1}` },
  });
  assert.equal(patch.status, 202, await patch.text());
  return new URL(patch.headers.get("location")!, berth.url).href;
}

/** A PATCH whose body the test writes; the response comes once the writer closes. */
function streamingPatch(url: string) {
  const body = new TransformStream<Uint8Array, Uint8Array>();
  const response = fetch(url, {
    method: "PATCH",
    body: body.readable,
    headers: { "Content-Type": "application/octet-stream" },
  }).catch((err: Error) => err);
  return { writer: body.writable.getWriter(), response };
}

/** Waits until the process logged `msg`, or fails after 20 s. */
async function logged(berth: BerthProcess, msg: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!berth.output.some((l) => l.includes(`"msg":"${msg}"`))) {
    if (Date.now() > deadline) throw new Error(`no "${msg}" log line:\n${berth.output.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the server is working on the PATCH (it is in flight in the metrics). */
async function writing(berth: BerthProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${debugUrl(berth)}/metrics`)).text();
    if (text.includes('registry_http_in_flight_requests{handler="blob_upload_chunk"} 1')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the PATCH never reached its handler");
}

Deno.test("drain: SIGTERM fails readiness, refuses new requests and lets an upload finish", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-drain-" });
  let berth = await start(dir, "30s");
  try {
    const data = randomBytes(3000);
    const url = await startUpload(berth, data.subarray(0, 1000));
    const { writer, response } = streamingPatch(url);
    await writer.write(data.subarray(1000, 1500));
    await writing(berth);

    Deno.kill(berth.pid, "SIGTERM");
    await logged(berth, "draining");
    const healthz = await fetch(`${berth.url}/healthz`);
    await assertError(healthz, 503, "UNAVAILABLE");
    const fresh = await fetch(`${berth.url}/v2/`);
    assert.equal(fresh.headers.get("retry-after"), "1");
    await assertError(fresh, 503, "UNAVAILABLE");
    const debug = await fetch(`${debugUrl(berth)}/debug/health`);
    assert.equal(debug.status, 503);
    assert.deepEqual(Object.keys(await debug.json()), ["draining"]);

    // The upload in flight goes on and is acknowledged; only then does the process end.
    let exited = false;
    berth.exited.then(() => exited = true);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exited, false, "the process must wait for the upload in flight");
    await writer.write(data.subarray(1500, 2000));
    await writer.close();
    const res = await response;
    assert.ok(res instanceof Response, `the PATCH failed: ${res}`);
    assert.equal(res.status, 202, await res.text());
    assert.equal(res.headers.get("range"), "0-1999");
    const next = new URL(res.headers.get("location")!, berth.url).href;
    const status = await berth.exited;
    assert.equal(status.code, 0, berth.output.join("\n"));
    assert.ok(berth.output.some((l) => l.includes('"msg":"stopped"')));

    // A restarted instance completes the upload.
    berth = await start(dir, "30s");
    const rest = new URL(next.replace(/^http:\/\/[^/]+/, berth.url));
    rest.searchParams.set("digest", sha256(data));
    const put = await fetch(rest, {
      method: "PUT",
      body: data.subarray(2000) as BodyInit,
      headers: { "Content-Range": "2000-2999" },
    });
    assert.equal(put.status, 201, await put.text());
    const blob = await fetch(`${berth.url}/v2/${REPO}/blobs/${sha256(data)}`);
    assert.deepEqual(await blob.bytes(), data);
  } finally {
    await berth.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drain: past http.draintimeout the process exits; the upload resumes from its last committed offset", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-drain-timeout-" });
  let berth = await start(dir, "1s");
  try {
    const data = randomBytes(4000);
    const url = await startUpload(berth, data.subarray(0, 1000));
    const { writer, response } = streamingPatch(url);
    await writer.write(data.subarray(1000, 1700)); // never finished
    await writing(berth);

    const signalled = Date.now();
    Deno.kill(berth.pid, "SIGTERM");
    const status = await berth.exited;
    const took = Date.now() - signalled;
    assert.equal(status.code, 0, berth.output.join("\n"));
    assert.ok(took < 15_000, `exit took ${took} ms`);
    assert.ok(
      berth.output.some((l) => l.includes('"msg":"drain timeout: closing the connections left"')),
    );
    const cut = await response;
    writer.abort().catch(() => {});
    assert.ok(
      !(cut instanceof Response && cut.status === 202),
      "the cut PATCH must not be acknowledged",
    );

    berth = await start(dir, "30s");
    const resumed = url.replace(/^http:\/\/[^/]+/, berth.url);
    const check = await fetch(resumed);
    assert.equal(check.status, 204);
    assert.equal(
      check.headers.get("range"),
      "0-999",
      "the session stays at its last committed offset",
    );
    const patch = await fetch(resumed, {
      method: "PATCH",
      body: data.subarray(1000) as BodyInit,
      headers: { "Content-Range": "1000-3999" },
    });
    assert.equal(patch.status, 202, await patch.text());
    const done = new URL(patch.headers.get("location")!, berth.url);
    done.searchParams.set("digest", sha256(data));
    const put = await fetch(done, { method: "PUT" });
    assert.equal(put.status, 201, await put.text());
    const blob = await fetch(`${berth.url}/v2/${REPO}/blobs/${sha256(data)}`);
    assert.deepEqual(await blob.bytes(), data);
  } finally {
    await berth.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
