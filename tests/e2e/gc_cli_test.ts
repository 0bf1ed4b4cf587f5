/**
 * @module
 * `deno task gc` and `deno task scrub` as commands, run beside a serving registry on
 * the same storage: the dry run changes nothing and says what the real run then does;
 * a run another holds the lease of is refused.
 */
import assert from "node:assert/strict";
import type { GcReport } from "../../src/gc/report.ts";
import {
  dumpStore,
  integrityProblems,
  layers,
  leftovers,
  pushImage,
  storedKeys,
} from "../helpers/gc.ts";
import { pushBlob, randomBytes } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";

const CLI = new URL("../../src/gc/cli.ts", import.meta.url).pathname;

async function command(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const sorted = (r: GcReport) =>
  Object.fromEntries(Object.entries(r.removed).map(([k, v]) => [k, [...v].sort()]));

Deno.test("deno task gc: the dry run changes nothing and names what the run then removes", async () => {
  const reg = await startRegistry({ storage: "disk" });
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  const config = `${reg.dir}/config.yml`;
  try {
    await Deno.writeTextFile(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${reg.dir}/blobs`,
        "berth:",
        `  datadir: ${reg.dir}`,
      ].join("\n"),
    );
    const shared = layers(1);
    const a = await pushImage(reg.url, "cli/app", "a", [...shared, ...layers(1)]);
    await pushImage(reg.url, "cli/app", "b", [...shared, ...layers(1)]);
    await pushImage(reg.url, "cli/app", null, layers(1)); // untagged
    await pushBlob(reg.url, "cli/loose", randomBytes(700)); // linked, never referenced
    const gone = await fetch(`${reg.url}/v2/cli/app/manifests/a`, { method: "DELETE" });
    assert.equal(gone.status, 202);
    await gone.body?.cancel();

    const before = { store: await dumpStore(store), keys: await storedKeys(driver) };
    const dry = await command(
      "gc",
      "--dry-run",
      "--delete-untagged",
      "--grace=0s",
      "--json",
      config,
    );
    assert.equal(dry.code, 0, dry.stderr);
    const dryReport: GcReport = JSON.parse(dry.stdout);
    assert.equal(dryReport.dryRun, true);
    assert.deepEqual(await dumpStore(store), before.store, "the dry run changed metadata");
    assert.deepEqual(await storedKeys(driver), before.keys, "the dry run changed blobs");
    assert.ok(dryReport.kept.some((k) => k.item === "cli/app:b" && /keeptags/.test(k.reason)));
    assert.equal(dryReport.removed.manifests.length, 2, "A and the untagged one");
    assert.deepEqual(dryReport.removed.repositories, ["cli/loose"]);

    const real = await command("gc", "--delete-untagged", "--grace=0s", "--json", config);
    assert.equal(real.code, 0, real.stderr);
    const report: GcReport = JSON.parse(real.stdout);
    assert.deepEqual(sorted(report), sorted(dryReport));
    assert.equal(report.reclaimed, dryReport.reclaimed);
    assert.ok(report.removed.blobs.includes(a.digest));
    assert.deepEqual(await integrityProblems(driver, store), []);
    assert.deepEqual(await leftovers(driver, store), []);

    const text = await command("gc", "--grace=0s", config);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^removed 0 tags$/m);
    assert.match(text.stdout, /^reclaimed 0 B in /m);

    const scrubbed = await command("scrub", "--json", config);
    assert.equal(scrubbed.code, 0, scrubbed.stderr);
    assert.equal(JSON.parse(scrubbed.stdout).bad.length, 0);
  } finally {
    await reg.close();
  }
});

Deno.test("deno task gc refuses to run while another run holds the lease, and bad arguments", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const env = [
      `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${reg.dir}/blobs\n`,
      `berth:\n  datadir: ${reg.dir}\n`,
    ].join("");
    await Deno.writeTextFile(`${reg.dir}/config.yml`, env);
    // The registry's own instance (alive: it beats) holds the collector's lease.
    const store = reg.runtime.drivers.metadata;
    await store.commit([], [{
      type: "set",
      key: ["lease", "gc"],
      value: { ...reg.runtime.instances.self, until: Date.now() + 60_000 },
    }]);
    const held = await command("gc", `${reg.dir}/config.yml`);
    assert.equal(held.code, 1);
    assert.match(held.stderr, /Another gc run holds the fleet-wide lease/);
    const bad = await command("gc", "--grace=soon");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--grace takes a duration/);
    const unknown = await command("scrub", "--delete-untagged");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown argument "--delete-untagged"/);
  } finally {
    await reg.close();
  }
});
