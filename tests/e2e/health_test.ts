/**
 * @module
 * distribution's `health:` checks: each kind (storage driver, file, HTTP, TCP) fails and
 * recovers against the real thing it watches, `/debug/health` on the debug server says
 * which in distribution's body, and while one fails the registry API answers 503
 * `UNAVAILABLE` and `/healthz` names it. Thresholds count consecutive failures.
 */
import assert from "node:assert/strict";
import { MonitoredCheck } from "../../src/health/monitor.ts";
import { assertError } from "../helpers/oci.ts";
import { type Served, startServing } from "../helpers/serving.ts";

async function debugHealth(
  served: Served,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${served.debugUrl}/debug/health`);
  assert.equal(res.headers.get("content-type"), "application/json");
  return { status: res.status, body: await res.json() };
}

/** Waits until `/debug/health` lists exactly `failing` (names), or fails after 10 s. */
async function until(served: Served, failing: string[]): Promise<Record<string, string>> {
  const deadline = Date.now() + 10_000;
  let last: { status: number; body: Record<string, string> } | undefined;
  while (Date.now() < deadline) {
    last = await debugHealth(served);
    if (Object.keys(last.body).sort().join() === [...failing].sort().join()) {
      assert.equal(last.status, failing.length ? 503 : 200);
      return last.body;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`health never became [${failing}]: ${JSON.stringify(last)}`);
}

Deno.test("health: every check kind fails and recovers; the API is unavailable meanwhile", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "berth-health-" });
  let status = 200;
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    assert.equal(req.method, "HEAD");
    assert.equal(req.headers.get("x-probe"), "berth");
    return new Response(null, { status });
  });
  let tcp: Deno.Listener | null = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcpPort = (tcp.addr as Deno.NetAddr).port;
  const every = { interval: "30ms" };
  const served = await startServing({
    storage: { filesystem: { rootdirectory: `${dir}/blobs` } },
    berth: { datadir: dir, metadata: { driver: "memory" } },
    http: { debug: { addr: "127.0.0.1:0" } },
    health: {
      storagedriver: { enabled: true, ...every, threshold: 1 },
      file: [{ file: `${dir}/maintenance`, ...every }],
      http: [{
        uri: `http://127.0.0.1:${upstream.addr.port}/ping`,
        headers: { "X-Probe": ["berth"] },
        statuscode: 200,
        timeout: "2s",
        ...every,
      }],
      tcp: [{ addr: `127.0.0.1:${tcpPort}`, timeout: "2s", ...every }],
    },
  });
  const names = {
    storage: "storagedriver_filesystem",
    file: `${dir}/maintenance`,
    http: `http://127.0.0.1:${upstream.addr.port}/ping`,
    tcp: `127.0.0.1:${tcpPort}`,
  };

  /** While `name` fails: the API is 503 UNAVAILABLE and /healthz names it. */
  async function assertUnavailable(name: string) {
    const api = await fetch(`${served.url}/v2/`);
    await assertError(api, 503, "UNAVAILABLE");
    const healthz = await fetch(`${served.url}/healthz`);
    assert.equal(healthz.status, 503);
    const body = await healthz.json();
    assert.ok(body.checks.some((c: { name: string; ok: boolean }) => c.name === name && !c.ok));
  }

  async function assertAvailable() {
    const api = await fetch(`${served.url}/v2/`);
    assert.equal(api.status, 200);
    await api.body?.cancel();
  }

  try {
    await until(served, []);
    await assertAvailable();

    await t.step("file: fails while the file exists", async () => {
      await Deno.writeTextFile(`${dir}/maintenance`, "");
      const body = await until(served, [names.file]);
      assert.equal(body[names.file], "file exists");
      await assertUnavailable(names.file);
      await Deno.remove(`${dir}/maintenance`);
      await until(served, []);
      await assertAvailable();
    });

    await t.step("http: fails on another status, recovers on the expected one", async () => {
      status = 500;
      const body = await until(served, [names.http]);
      assert.match(body[names.http], /unexpected status: 500/);
      await assertUnavailable(names.http);
      status = 200;
      await until(served, []);
      await assertAvailable();
    });

    await t.step("tcp: fails while nothing listens, recovers when it does", async () => {
      tcp!.close();
      tcp = null;
      const body = await until(served, [names.tcp]);
      assert.match(body[names.tcp], /connection failed/);
      await assertUnavailable(names.tcp);
      tcp = Deno.listen({ hostname: "127.0.0.1", port: tcpPort });
      await until(served, []);
      await assertAvailable();
    });

    await t.step("storagedriver: fails while the storage cannot be written", async () => {
      // The driver's probe writes under <root>/_tmp: a file in its place breaks it.
      await Deno.remove(`${dir}/blobs/_tmp`, { recursive: true }).catch(() => {});
      await Deno.writeTextFile(`${dir}/blobs/_tmp`, "in the way");
      const body = await until(served, [names.storage]);
      assert.match(body[names.storage], /not writable/);
      await assertUnavailable(names.storage);
      await Deno.remove(`${dir}/blobs/_tmp`);
      await Deno.mkdir(`${dir}/blobs/_tmp`);
      await until(served, []);
      await assertAvailable();
    });

    await t.step("the healthy /healthz lists every configured check", async () => {
      const res = await fetch(`${served.url}/healthz`);
      assert.equal(res.status, 200);
      const { checks } = await res.json();
      for (const name of Object.values(names)) {
        assert.ok(checks.some((c: { name: string; ok: boolean }) => c.name === name && c.ok), name);
      }
    });
  } finally {
    await served.close();
    tcp?.close();
    await upstream.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("health: a threshold counts consecutive failures; one success clears them", async () => {
  let fail = true;
  const check = new MonitoredCheck(
    "probe",
    () => {
      return fail ? Promise.reject(new Error("down")) : Promise.resolve();
    },
    1000,
    3,
  );
  await check.run();
  await check.run();
  assert.equal(check.error, null, "two failures are under the threshold of 3");
  await check.run();
  assert.equal(check.error, "down");
  fail = false;
  await check.run();
  assert.equal(check.error, null);
  fail = true;
  await check.run();
  assert.equal(check.error, null, "the count starts again after a success");
  const eager = new MonitoredCheck("eager", () => Promise.reject(new Error("x")), 1000, 0);
  await eager.run();
  assert.equal(eager.error, "x", "threshold 0 fails at the first failure");
});

Deno.test("health: /debug/health and /healthz report a drain", async () => {
  const served = await startServing({ http: { debug: { addr: "127.0.0.1:0" } } });
  try {
    served.runtime.lifecycle.drain();
    const { status, body } = await debugHealth(served);
    assert.equal(status, 503);
    assert.deepEqual(Object.keys(body), ["draining"]);
    // In-process, without the serving layer's gate: the registry's own health says so.
    const checks = await served.runtime.deps.registry.health();
    assert.ok(checks.some((c) => c.name === "draining" && !c.ok));
    const res = await fetch(`${served.url}/healthz`);
    assert.equal(res.status, 503, "new requests are refused while draining");
    await res.body?.cancel();
  } finally {
    await served.close();
  }
});
