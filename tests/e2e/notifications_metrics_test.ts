/**
 * @module
 * Notification deliveries are counted under distribution's metric names on the debug
 * server: events sent by outcome, deliveries by answer, and the pending queue.
 */
import assert from "node:assert/strict";
import { pushBlob } from "../helpers/oci.ts";
import { assertPromtoolAccepts, parseSamples, valueOf } from "../helpers/prometheus.ts";
import { Receiver } from "../helpers/receiver.ts";
import { startServing } from "../helpers/serving.ts";

const DEBUG = { addr: "127.0.0.1:0", prometheus: { enabled: true, path: "/metrics" } };

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

Deno.test("notification deliveries are counted under distribution's metric names", async () => {
  const receiver = await Receiver.start();
  receiver.answer("/hook", 202);
  receiver.answer("/broken", 500);
  const served = await startServing({
    http: { debug: DEBUG },
    notifications: {
      endpoints: [
        { name: "ok", url: receiver.url("/hook"), timeout: "1s", backoff: "100ms" },
        { name: "bad", url: receiver.url("/broken"), timeout: "1s", backoff: "100ms" },
      ],
    },
  });
  const scrape = async () => {
    const res = await fetch(`${served.debugUrl}/metrics`);
    const text = await res.text();
    return { text, samples: parseSamples(text) };
  };
  try {
    for (let i = 0; i < 3; i++) await pushBlob(served.url, "note/app", `blob ${i}`);
    await until("three delivered events", async () =>
      valueOf(
        (await scrape()).samples,
        "registry_notifications_events_total",
        { type: "Successes", endpoint: "ok" },
      ) >= 3);
    await until("a failed delivery", async () =>
      valueOf(
        (await scrape()).samples,
        "registry_notifications_events_total",
        { type: "Failures", endpoint: "bad" },
      ) >= 1);
    const { text, samples } = await scrape();
    assert.ok(
      valueOf(samples, "registry_notifications_status_total", {
        code: "202 Accepted",
        endpoint: "ok",
      }) >= 1,
    );
    assert.ok(
      valueOf(samples, "registry_notifications_status_total", {
        code: "500 Internal Server Error",
        endpoint: "bad",
      }) >= 1,
    );
    assert.equal(
      valueOf(samples, "registry_notifications_pending", { endpoint: "ok" }),
      0,
      "the accepted events are still pending",
    );
    assert.equal(
      valueOf(samples, "registry_notifications_pending", { endpoint: "bad" }),
      3,
      "the refused events are not all pending",
    );
    await assertPromtoolAccepts(text);
  } finally {
    await served.close();
    await receiver.close();
  }
});
