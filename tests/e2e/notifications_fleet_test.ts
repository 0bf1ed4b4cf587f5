/**
 * @module
 * Notifications in a fleet: three Berth processes share one Deno KV file (and one blob
 * directory); 200 pushes are spread across them, and the instance delivering at the
 * time is killed with SIGKILL half-way. Every event is delivered, in order per repository; one instance at a
 * time delivers (the endpoint's lease), so duplicates are rare: they are counted and
 * reported, and each duplicate carries the same id as the original.
 */
import assert from "node:assert/strict";
import { type BerthProcess, spawnBerth } from "../helpers/process.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { duplicates, hookConfig, Receiver } from "../helpers/receiver.ts";

const PUSHES = 200;
const REPOS = 10;

// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

Deno.test("notifications: 3 instances on one KV file, 200 pushes across them: every event delivered", async () => {
  const receiver = await Receiver.start();
  const dir = await Deno.makeTempDir({ prefix: "berth-notify-fleet-" });
  const config = await hookConfig(dir, receiver, ["backoff: 200ms"]);
  const env = {
    REGISTRY_CONFIGURATION_PATH: config,
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_LOG_LEVEL: "info",
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
  };
  const fleet: BerthProcess[] = await Promise.all([0, 1, 2].map(() => spawnBerth(env)));
  const alive = [true, true, true];
  /** Digests each repository was pushed, in order (each repository's pushes are sequential). */
  const sent = new Map<string, string[]>();
  let done = 0;
  let killed = -1;
  let heldLease = false;
  /** The instance holding the endpoint's lease now (the first one when none does). */
  const deliverer = async () => {
    const kv = await Deno.openKv(`${dir}/metadata.kv`);
    try {
      const lease = await kv.get<{ instance: string }>(["lease", "notify:hook"]);
      const holder = fleet.findIndex((b) =>
        b.output.some((l) => l.includes(`"instance":"${lease.value?.instance}"`))
      );
      heldLease = holder >= 0;
      return Math.max(0, holder);
    } finally {
      kv.close();
    }
  };
  try {
    const worker = async (r: number) => {
      const repo = `fleet/r${r}`;
      sent.set(repo, []);
      for (let i = 0; i < PUSHES / REPOS; i++) {
        const data = randomBytes(256 + r * 100 + i);
        // Round-robin over the instances still alive; a request cut by the kill is sent
        // again elsewhere (the same blob: pushing it twice is harmless).
        let res: Response | null = null;
        for (let attempt = 0; !res; attempt++) {
          const live = fleet.filter((_, k) => alive[k]);
          const target = live[(r + i + attempt) % live.length];
          res = await fetch(`${target.url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
            method: "POST",
            body: data as BodyInit,
          }).catch(() => null);
        }
        assert.equal(res.status, 201, await res.text());
        sent.get(repo)!.push(sha256(data));
        if (++done === PUSHES / 2) {
          const victim = await deliverer();
          alive[victim] = false;
          await fleet[victim].kill("SIGKILL");
          killed = victim;
        }
      }
    };
    await Promise.all(Array.from({ length: REPOS }, (_, r) => worker(r)));
    await receiver.waitFor(
      () => new Set(receiver.events().map((e) => e.id)).size >= PUSHES,
      30_000,
      "every push event",
    );
    const events = receiver.events() as Event[];
    const dups = duplicates(events);
    console.log(
      `fleet: ${events.length} events received for ${PUSHES} pushes, ${dups.size} delivered ` +
        `more than once (${[...dups.values()].reduce((a, n) => a + n - 1, 0)} extra copies); ` +
        `the instance killed half-way ${heldLease ? "held" : "did not hold"} the lease`,
    );
    // A duplicate is the same event: same id, same content.
    const byId = new Map<string, string>();
    for (const e of events) {
      const text = JSON.stringify(e);
      assert.equal(byId.get(e.id) ?? text, text, `copies of ${e.id} differ`);
      byId.set(e.id, text);
    }
    for (const [repo, digests] of sent) {
      const seen: string[] = [];
      for (const e of events) {
        if (e.target.repository === repo && !seen.includes(e.target.digest)) {
          seen.push(e.target.digest);
        }
      }
      assert.deepEqual(seen, digests, `every event of ${repo}, in order`);
    }
    assert.ok(killed >= 0);
    const instances = new Set(events.map((e) => e.source.instanceID));
    assert.ok(instances.size >= 2, "events come from several instances");
  } finally {
    await Promise.all(fleet.map((b) => b.kill("SIGKILL")));
    await receiver.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
