/**
 * @module
 * A receiver that is down for 20 seconds loses nothing: every event recorded meanwhile
 * arrives once it is back, in order per repository, with no duplicates. Another
 * endpoint that stays up keeps getting its events during the outage, and requests do
 * not wait for either.
 */
import assert from "node:assert/strict";
import { readEndpointStats } from "../../src/notifications/stats.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { duplicates, Receiver } from "../helpers/receiver.ts";
import { startRegistry } from "../helpers/registry.ts";

const REPOS = ["outage/a", "outage/b", "outage/c"];
const DOWN_MS = 20_000;

// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

Deno.test("notifications: a receiver down for 20 s gets every event afterwards, in order per repository", async () => {
  const down = await Receiver.start();
  const up = await Receiver.start();
  const reg = await startRegistry({
    doc: {
      notifications: {
        endpoints: [
          { name: "down", url: down.url(), threshold: 3, backoff: "500ms", timeout: "1s" },
          { name: "up", url: up.url() },
        ],
      },
    },
  });
  /** The request ids each repository's pushes were made with, in order. */
  const sent = new Map<string, string[]>(REPOS.map((r) => [r, []]));
  let n = 0;
  const push = async (repo: string) => {
    const data = randomBytes(512 + n);
    const id = `${repo.replace("/", "-")}.${n++}`;
    const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      body: data as BodyInit,
      headers: { "X-Request-Id": id },
    });
    assert.equal(res.status, 201, await res.text());
    sent.get(repo)!.push(id);
  };
  try {
    await down.down();
    const wentDown = Date.now();
    // Pushes spread over the outage, the repositories interleaved.
    let worst = 0;
    while (Date.now() - wentDown < DOWN_MS - 2_000) {
      for (const repo of REPOS) {
        const t = performance.now();
        await push(repo);
        worst = Math.max(worst, performance.now() - t);
      }
      await new Promise((r) => setTimeout(r, 1_500));
    }
    const total = [...sent.values()].reduce((a, l) => a + l.length, 0);
    assert.ok(total >= 30, `only ${total} pushes during the outage`);
    // The endpoint that is up gets everything while the other is still down.
    await up.waitFor(() => up.events().length >= total, 10_000, "the healthy endpoint");
    // A request is never held up by a failing endpoint (a wide margin for a busy machine).
    assert.ok(worst < 5_000, `a push took ${worst.toFixed(0)} ms during the outage`);
    const during = await readEndpointStats(reg.runtime.drivers.metadata, [
      { name: "down", url: down.url() },
    ]);
    assert.equal(during[0].pending, total);
    assert.ok(during[0].failures >= 3, `${during[0].failures} failures`);
    assert.equal(during[0].lastStatus, 0);
    assert.ok(during[0].oldestPendingMs! > 10_000);

    await new Promise((r) => setTimeout(r, Math.max(0, DOWN_MS - (Date.now() - wentDown))));
    await down.up();
    // The backoff is at most 8 x 500 ms (+20 %) by now.
    await down.waitFor(() => down.events().length >= total, 15_000, "the recovered endpoint");

    const events = down.events() as Event[];
    assert.equal(duplicates(events).size, 0);
    assert.equal(events.length, total);
    for (const repo of REPOS) {
      const got = events.filter((e) => e.target.repository === repo).map((e) => e.request.id);
      assert.deepEqual(got, sent.get(repo), `order of ${repo}`);
    }
    const after = await readEndpointStats(reg.runtime.drivers.metadata, [
      { name: "down", url: down.url() },
    ]);
    assert.equal(after[0].pending, 0);
    assert.equal(after[0].lastStatus, 200);
    assert.equal(after[0].consecutive, 0);
    assert.equal(after[0].delivered, total);
  } finally {
    await reg.close();
    await down.close();
    await up.close();
  }
});
