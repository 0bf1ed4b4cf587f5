/**
 * @module
 * The expired-row sweep as the runtime schedules it: a registry on PostgreSQL has the
 * fleet-wide `metadata-sweep` job, which deletes expired rows (reads hid them already);
 * a registry on Deno KV, which expires records by itself, has no such job.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { METADATA_SWEEP_JOB } from "../../src/jobs/metadata_sweep.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startRegistry } from "../helpers/registry.ts";

Deno.test("a registry on PostgreSQL sweeps expired rows with a fleet-wide job", async () => {
  const pg = await startPostgres();
  const url = await pg.database();
  const reg = await startRegistry({
    storage: "disk",
    doc: { berth: { metadata: { driver: "postgres", url } } },
  });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const store = reg.runtime.drivers.metadata;
    await store.commit([], [
      { type: "set", key: ["sweep", "gone"], value: 1, expireInMs: 1 },
      { type: "set", key: ["sweep", "kept"], value: 2, expireInMs: 600_000 },
    ]);
    await new Promise((r) => setTimeout(r, 20));
    const rows = async () =>
      Number((await sql`SELECT count(*) AS n FROM berth_records WHERE expires_at <= now()`)[0].n);
    assert.equal(await rows(), 1, "the expired row waits for the sweep");
    assert.equal(await reg.runtime.scheduler.runNow(METADATA_SWEEP_JOB), true);
    assert.equal(await rows(), 0);
    assert.equal((await store.get(["sweep", "kept"]))?.value, 2);
    const lease = await store.get(["lease", METADATA_SWEEP_JOB]);
    assert.equal(lease, null, "the job's lease is given back after the run");
  } finally {
    await sql.end();
    await reg.close();
    await pg.remove();
  }
});

Deno.test("a registry on Deno KV has no sweep job", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    await assert.rejects(() => reg.runtime.scheduler.runNow(METADATA_SWEEP_JOB), /No job named/);
  } finally {
    await reg.close();
  }
});
