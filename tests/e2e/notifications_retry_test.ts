/**
 * @module
 * What counts as delivered: any 2xx or 3xx answer, as in distribution. An error status,
 * a refused connection or an answer later than `timeout` is a failure, retried with the
 * same event ids until the endpoint accepts (so a slow receiver may see an event twice).
 */
import assert from "node:assert/strict";
import { readEndpointStats } from "../../src/notifications/stats.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { Receiver } from "../helpers/receiver.ts";
import { startRegistry } from "../helpers/registry.ts";

Deno.test("notifications: error statuses and timeouts are retried with the same ids; 3xx is delivered", async () => {
  const receiver = await Receiver.start();
  const slow = { name: "slow", url: receiver.url("/slow"), timeout: "300ms", backoff: "100ms" };
  const moved = { name: "moved", url: receiver.url("/moved") };
  const reg = await startRegistry({ doc: { notifications: { endpoints: [slow, moved] } } });
  const stats = async (name: string) =>
    (await readEndpointStats(reg.runtime.drivers.metadata, [slow, moved]))
      .find((s) => s.name === name)!;
  try {
    receiver.answer("/slow", 200, 2_000);
    receiver.answer("/moved", 304);
    const data = randomBytes(100);
    const res = await fetch(`${reg.url}/v2/retry/app/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      body: data as BodyInit,
    });
    assert.equal(res.status, 201);
    await receiver.waitFor(
      () => receiver.deliveries.filter((d) => d.path === "/slow").length >= 2,
      10_000,
    );
    const failing = await stats("slow");
    assert.ok(failing.failures >= 1);
    assert.equal(failing.lastStatus, 0);
    assert.equal(failing.lastError, "no answer within 300 ms");
    assert.equal(failing.pending, 1);
    receiver.answer("/slow", 503);
    const before = failing.failures;
    await receiver.waitFor(() => receiver.deliveries.some((d) => d.status === 503), 10_000);
    receiver.answer("/slow", 202);
    await receiver.waitFor(() => receiver.deliveries.some((d) => d.status === 202), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const ok = await stats("slow");
    assert.equal(ok.pending, 0);
    assert.equal(ok.delivered, 1);
    assert.equal(ok.lastStatus, 202);
    assert.ok(ok.failures > before);
    const ids = new Set(
      receiver.deliveries.filter((d) => d.path === "/slow").flatMap((d) =>
        d.events.map((e) => e.id)
      ),
    );
    assert.equal(ids.size, 1, "every attempt carried the same event");
    const redirected = await stats("moved");
    assert.deepEqual([redirected.pending, redirected.delivered, redirected.failures], [0, 1, 0]);
    assert.equal(redirected.lastStatus, 304);
  } finally {
    await reg.close();
    await receiver.close();
  }
});
