/**
 * @module
 * Retention end to end: a registry configured with `berth.gc` and `berth.retention`,
 * tags with push times in the past, pulls recorded by the registry itself, and the
 * online job run on demand. Each rule keeps what it says and the rest goes.
 */
import assert from "node:assert/strict";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { GcReport } from "../../src/gc/report.ts";
import type { TagRecord } from "../../src/registry/records.ts";
import { getManifest, layers, type Pushed, pushImage } from "../helpers/gc.ts";
import { startRegistry } from "../helpers/registry.ts";
import type { Logger } from "../../src/log.ts";

const H = 3600_000;

/** Pushes one image per tag into `repo`, the tag moved `hours` ago. */
async function tagged(
  base: string,
  store: MetadataStore,
  repo: string,
  tags: Record<string, number>,
): Promise<Record<string, Pushed>> {
  const out: Record<string, Pushed> = {};
  for (const [tag, hours] of Object.entries(tags)) {
    out[tag] = await pushImage(base, repo, tag, layers(1));
    const key = ["tag", repo, tag];
    const record = (await store.get<TagRecord>(key))!.value;
    await store.commit([], [{
      type: "set",
      key,
      value: { ...record, updated: Date.now() - hours * H },
    }]);
  }
  return out;
}

async function tagsOf(base: string, repo: string): Promise<string[]> {
  const res = await fetch(`${base}/v2/${repo}/tags/list`);
  if (res.status === 404) {
    await res.body?.cancel();
    return [];
  }
  return ((await res.json()).tags ?? []).sort();
}

/** A logger keeping the reports the job logs. */
function reportLogger(): { logger: Logger; reports: Record<string, unknown>[] } {
  const reports: Record<string, unknown>[] = [];
  const none = () => {};
  return {
    reports,
    logger: {
      debug: none,
      warn: none,
      error: none,
      info: (msg, fields) => {
        if (msg.startsWith("garbage collection")) reports.push(fields ?? {});
      },
    },
  };
}

Deno.test("retention keeps what each rule says, with pulls the registry recorded itself", async () => {
  const { logger, reports } = reportLogger();
  const reg = await startRegistry({
    logger,
    doc: {
      berth: {
        gc: { interval: "24h", grace: "0s", deleteuntagged: false },
        retention: {
          policies: [
            {
              repositories: ["team/**"],
              deleteuntagged: true,
              keeptags: [
                { patterns: ["v.*", "latest"] },
                { mostrecentlypushedcount: 2 },
                { pulledwithin: "720h" },
              ],
            },
            { repositories: ["pull/*"], keeptags: [{ mostrecentlypulledcount: 1 }] },
            { repositories: ["push/*"], keeptags: [{ pushedwithin: "24h" }] },
          ],
        },
      },
    },
  });
  const store = reg.runtime.drivers.metadata;
  try {
    const team = await tagged(reg.url, store, "team/app", {
      "v1": 240,
      "latest": 230,
      "new-1": 1,
      "new-2": 2,
      "old-a": 72,
      "old-b": 96,
      "old-c": 120,
      "ancient": 240,
    });
    await tagged(reg.url, store, "pull/app", { p1: 10, p2: 10, p3: 10 });
    await tagged(reg.url, store, "push/app", { fresh: 3, stale: 30 });
    await tagged(reg.url, store, "other/app", { keep: 5000 });
    // Pulls: old-b by tag, old-c's manifest by digest (its tag counts as pulled), p1
    // then p2 (the most recent).
    assert.equal(await getManifest(reg.url, "team/app", "old-b"), 200);
    assert.equal(await getManifest(reg.url, "team/app", team["old-c"].digest), 200);
    assert.equal(await getManifest(reg.url, "pull/app", "p1"), 200);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await getManifest(reg.url, "pull/app", "p2"), 200);

    assert.ok(await reg.runtime.scheduler.runNow("gc"), "the job did not run");
    assert.deepEqual(await tagsOf(reg.url, "team/app"), [
      "latest",
      "new-1",
      "new-2",
      "old-b",
      "old-c",
      "v1",
    ]);
    assert.deepEqual(await tagsOf(reg.url, "pull/app"), ["p2"]);
    assert.deepEqual(await tagsOf(reg.url, "push/app"), ["fresh"]);
    assert.deepEqual(await tagsOf(reg.url, "other/app"), ["keep"], "no policy: every tag stays");
    // team/** deletes what lost its tag; pull/* follows berth.gc.deleteuntagged (off).
    assert.equal(await getManifest(reg.url, "team/app", team["old-a"].digest), 404);
    assert.equal(await getManifest(reg.url, "team/app", team["ancient"].digest), 404);
    assert.equal(reports.length, 1);
    assert.equal(reports[0].tags, 5);
    assert.equal(reports[0].manifests, 2);
  } finally {
    await reg.close();
  }
});

Deno.test("retention's dry run reports the tags it would remove and removes none", async () => {
  const reg = await startRegistry({
    doc: {
      berth: {
        gc: { grace: "0s", deleteuntagged: true },
        retention: {
          dryrun: true,
          policies: [{ repositories: ["**"], keeptags: [{ patterns: ["keep"] }] }],
        },
      },
    },
  });
  const store = reg.runtime.drivers.metadata;
  try {
    const images = await tagged(reg.url, store, "dry/app", { keep: 1, drop: 1 });
    const { collect } = await import("../../src/gc/collector.ts");
    const report: GcReport = await collect(reg.runtime.drivers.blobs, store, {
      grace: 0,
      deleteUntagged: true,
      retention: reg.config.berth.retention,
    });
    assert.deepEqual(report.retentionDryRun, ["dry/app:drop"]);
    assert.deepEqual(report.removed.tags, []);
    assert.deepEqual(report.removed.manifests, [], "what the kept tag names went");
    assert.deepEqual(await tagsOf(reg.url, "dry/app"), ["drop", "keep"]);
    assert.equal(await getManifest(reg.url, "dry/app", images.drop.digest), 200);
  } finally {
    await reg.close();
  }
});
