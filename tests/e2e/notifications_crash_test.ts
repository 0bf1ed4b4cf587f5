/**
 * @module
 * Notifications survive the process: Berth (`deno run main.ts`, filesystem blobs, a Deno
 * KV file) is killed with SIGKILL right after a push is acknowledged while the receiver
 * is down, and every event of that push is delivered after a restart. Pulls buffered in
 * memory are written when the process stops gracefully.
 */
import assert from "node:assert/strict";
import { spawnBerth } from "../helpers/process.ts";
import { pushImage, putManifest } from "../helpers/oci.ts";
import { duplicates, hookConfig, Receiver } from "../helpers/receiver.ts";

// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

Deno.test("notifications: kill -9 right after a push, receiver down: every event arrives after a restart", async () => {
  const receiver = await Receiver.start();
  const dir = await Deno.makeTempDir({ prefix: "berth-notify-crash-" });
  const config = await hookConfig(dir, receiver, ["threshold: 2", "backoff: 200ms"]);
  const env = {
    REGISTRY_CONFIGURATION_PATH: config,
    REGISTRY_BERTH_DATADIR: dir,
  };
  let berth = await spawnBerth(env);
  try {
    await receiver.down();
    const image = await pushImage(berth.url, "crash/notify", 3);
    const put = await putManifest(berth.url, "crash/notify", "v1", image.text);
    assert.equal(put.status, 201);
    await put.body?.cancel();
    await berth.kill("SIGKILL");
    const digests = [
      image.manifest.config.digest,
      ...image.manifest.layers.map((l) => l.digest),
      image.digest,
    ];

    await receiver.up();
    berth = await spawnBerth(env);
    await receiver.waitFor(() => receiver.events().length >= 5, 20_000, "the push's events");
    const events = receiver.events() as Event[];
    assert.equal(duplicates(events).size, 0);
    assert.deepEqual(events.map((e) => e.target.digest), digests, "recorded order");
    assert.ok(events.every((e) => e.action === "push"));
    assert.equal(events[4].target.tag, "v1");

    // A pull waits in memory for up to a second; a graceful stop right after it writes it
    // before the store closes, so it is not lost either.
    const pull = await fetch(`${berth.url}/v2/crash/notify/manifests/v1`, {
      headers: { Accept: image.manifest.mediaType, "X-Request-Id": "req-last-pull" },
    });
    assert.equal(pull.status, 200);
    await pull.body?.cancel();
    await receiver.down();
    await berth.kill("SIGTERM");
    await receiver.up();
    berth = await spawnBerth(env);
    await receiver.waitFor(
      () => receiver.events().some((e) => (e as Event).request.id === "req-last-pull"),
      20_000,
      "the pull written at shutdown",
    );
    const pulled = (receiver.events() as Event[]).find((e) => e.request.id === "req-last-pull")!;
    assert.deepEqual([pulled.action, pulled.target.digest, pulled.target.tag], [
      "pull",
      image.digest,
      "v1",
    ]);
  } finally {
    await berth.kill("SIGKILL");
    await receiver.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
