/**
 * @module
 * Jobs: a fleet-wide job runs on one instance at a time (a lease in the metadata store),
 * a lease whose holder's heartbeat is gone is taken over at once, per-instance jobs run
 * everywhere, a job never overlaps itself, and stopping the scheduler aborts runs.
 */
import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { Leases } from "../../src/jobs/lease.ts";
import { Scheduler } from "../../src/jobs/scheduler.ts";
import { silentLogger } from "../../src/log.ts";
import { Instances } from "../../src/registry/instances.ts";

function instance(store: MemoryMetadataStore, id: string) {
  const instances = new Instances(store, id);
  return { instances, scheduler: new Scheduler(new Leases(store, instances, 5_000), silentLogger) };
}

Deno.test("a fleet-wide job runs on one instance at a time", async () => {
  const store = new MemoryMetadataStore();
  const a = instance(store, "a");
  const b = instance(store, "b");
  await a.instances.beat();
  await b.instances.beat();
  let running = 0;
  let most = 0;
  const ran: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  for (const [name, node] of [["a", a], ["b", b]] as const) {
    node.scheduler.add({
      name: "sweep",
      interval: 3_600_000,
      fleet: "one",
      run: async () => {
        running++;
        most = Math.max(most, running);
        ran.push(name);
        await gate;
        running--;
      },
    });
  }
  const first = a.scheduler.runNow("sweep");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await b.scheduler.runNow("sweep"), false, "b ran while a held the lease");
  release();
  assert.equal(await first, true);
  assert.deepEqual(ran, ["a"]);
  assert.equal(most, 1);
  // Once a gave the lease back, b may run.
  assert.equal(await b.scheduler.runNow("sweep"), true);
  assert.deepEqual(ran, ["a", "b"]);
  await a.scheduler.stop();
  await b.scheduler.stop();
});

Deno.test("a lease held by an instance whose heartbeat is gone is taken over", async () => {
  const store = new MemoryMetadataStore();
  const dead = instance(store, "dead");
  await dead.instances.beat();
  const leases = new Leases(store, dead.instances, 60_000);
  assert.ok(await leases.acquire("gc"), "the first holder gets the lease");
  const live = instance(store, "live");
  const other = new Leases(store, live.instances, 60_000);
  assert.equal(await other.acquire("gc"), null, "taken from a holder that still beats");
  // The holder dies: its heartbeat is no longer renewed (here: removed, as on shutdown).
  await dead.instances.retire();
  const taken = await other.acquire("gc");
  assert.ok(taken, "not taken over although its holder is gone");
  // A new boot of the same instance id does not count its old lease as its own.
  const reborn = new Leases(store, new Instances(store, "live"), 60_000);
  assert.ok(await reborn.acquire("gc"), "an old boot's lease blocked the new boot");
  assert.equal(await taken.renew(), false, "the old holder still thinks it holds the lease");
});

Deno.test("a periodic job runs again and again but never overlaps itself; stop aborts it", async () => {
  const store = new MemoryMetadataStore();
  const a = instance(store, "a");
  let runs = 0;
  let running = 0;
  let most = 0;
  let aborted = false;
  a.scheduler.add({
    name: "beat",
    interval: 10,
    firstDelay: 0,
    run: async (signal) => {
      runs++;
      running++;
      most = Math.max(most, running);
      // Each run outlasts several ticks.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 40);
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          aborted = true;
          resolve();
        });
      });
      running--;
    },
  });
  a.scheduler.start();
  for (let i = 0; i < 200 && runs < 4; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(runs >= 4, `only ${runs} runs`);
  while (running === 0) await new Promise((r) => setTimeout(r, 1));
  await a.scheduler.stop();
  assert.equal(most, 1, "two runs of one job overlapped");
  assert.ok(aborted, "the run in progress was not aborted by stop");
  const after = runs;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs, after, "a job ran after stop");
});
