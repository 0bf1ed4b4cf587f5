import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { buildConfig, ConfigError } from "../../src/config/mod.ts";
import { PullTimes } from "../../src/gc/pulls.ts";
import { keptTags, Retention, type TagInfo } from "../../src/gc/retention.ts";
import { silentLogger } from "../../src/log.ts";
import { systemContext } from "../../src/registry/events.ts";

const H = 3600_000;
const NOW = 1_700_000_000_000;

/** Tags pushed `hours` ago, pulled `pulled` hours ago (or never). */
function tag(name: string, hours: number, pulled: number | null = null): TagInfo {
  return { tag: name, pushed: NOW - hours * H, pulled: pulled === null ? null : NOW - pulled * H };
}

const TAGS = [
  tag("v1.0", 500),
  tag("v2.0", 400, 1),
  tag("latest", 300),
  tag("dev-3", 3, 100),
  tag("dev-2", 2),
  tag("dev-1", 1),
  tag("pr-9", 50, 2),
  tag("pr-8", 60, 30),
];
const kept = (rules: Parameters<typeof keptTags>[1]) =>
  [...keptTags(TAGS, rules, NOW).keys()].sort();

Deno.test("retention: without keeptags every tag stays", () => {
  assert.deepEqual(kept(undefined), TAGS.map((t) => t.tag).sort());
});

Deno.test("retention: patterns keep the tags they match as a whole", () => {
  assert.deepEqual(kept([{ patterns: ["v.*", "latest"] }]), ["latest", "v1.0", "v2.0"]);
  assert.deepEqual(kept([{ patterns: ["dev"] }]), [], "a pattern matches whole tags only");
});

Deno.test("retention: mostrecentlypushedcount keeps the n most recently pushed", () => {
  assert.deepEqual(kept([{ mostrecentlypushedcount: 2 }]), ["dev-1", "dev-2"]);
  assert.deepEqual(kept([{ mostrecentlypushedcount: 0 }]), []);
});

Deno.test("retention: mostrecentlypulledcount keeps the n most recently pulled", () => {
  assert.deepEqual(kept([{ mostrecentlypulledcount: 2 }]), ["pr-9", "v2.0"]);
});

Deno.test("retention: pushedwithin and pulledwithin keep what is recent enough", () => {
  assert.deepEqual(kept([{ pushedwithin: 24 * H }]), ["dev-1", "dev-2", "dev-3"]);
  assert.deepEqual(kept([{ pulledwithin: 24 * H }]), ["pr-9", "v2.0"]);
});

Deno.test("retention: criteria apply to the rule's patterns; rules add up", () => {
  // Within one rule: the pattern's tags that meet any criterion.
  assert.deepEqual(kept([{ patterns: ["pr-.*"], mostrecentlypushedcount: 1 }]), ["pr-9"]);
  assert.deepEqual(
    kept([{ patterns: ["dev-.*"], mostrecentlypushedcount: 1, pulledwithin: 200 * H }]),
    ["dev-1", "dev-3"],
  );
  // Across rules: kept by any.
  assert.deepEqual(
    kept([{ patterns: ["v.*"] }, { mostrecentlypushedcount: 1 }, { pulledwithin: 24 * H }]),
    ["dev-1", "pr-9", "v1.0", "v2.0"],
  );
  const reasons = keptTags(TAGS, [{ patterns: ["v.*"] }, { pulledwithin: 24 * H }], NOW);
  assert.equal(reasons.get("v2.0"), "keeptags[0]: matches its patterns", "the first rule names it");
});

Deno.test("retention: the first policy whose repositories match applies", () => {
  const retention = new Retention({
    dryrun: false,
    policies: [
      { repositories: ["team/**"], deleteuntagged: true, deletereferrers: true, keeptags: [] },
      { repositories: ["**"], deletereferrers: false, keeptags: [{ pulledwithin: H }] },
    ],
  }, false);
  assert.deepEqual(retention.policyFor("team/a/b"), {
    deleteUntagged: true,
    deleteReferrers: true,
    keepTags: [],
    index: 0,
  });
  assert.equal(retention.policyFor("other").index, 1);
  assert.equal(retention.policyFor("other").deleteUntagged, false, "the gc default applies");
  assert.ok(retention.usesPulls);
  const none = new Retention(undefined, true).policyFor("x");
  assert.deepEqual(none, { deleteUntagged: true, deleteReferrers: false, index: null });
  assert.equal(new Retention(undefined, true).usesPulls, false);
});

Deno.test("berth.gc, berth.retention and berth.scrub read as the issue writes them", () => {
  const config = buildConfig({
    berth: {
      gc: { interval: "24h", grace: "2h", deleteuntagged: false },
      scrub: {},
      retention: {
        dryrun: false,
        policies: [{
          repositories: ["team/**"],
          deleteuntagged: true,
          deletereferrers: false,
          keeptags: [
            { patterns: ["v.*", "latest"] },
            { mostrecentlypushedcount: 10 },
            { pulledwithin: "720h" },
          ],
        }],
      },
    },
  });
  assert.deepEqual(config.berth.gc, { interval: 24 * H, grace: 2 * H, deleteuntagged: false });
  assert.deepEqual(config.berth.scrub, { interval: 168 * H });
  assert.deepEqual(config.berth.retention, {
    dryrun: false,
    policies: [{
      repositories: ["team/**"],
      deleteuntagged: true,
      deletereferrers: false,
      keeptags: [
        { patterns: ["v.*", "latest"] },
        { mostrecentlypushedcount: 10 },
        { pulledwithin: 720 * H },
      ],
    }],
  });
  assert.equal(buildConfig({ berth: { gc: { grace: "0s" } } }).berth.gc?.grace, 0);
  assert.deepEqual(buildConfig({ berth: { gc: null } }).berth.gc, {
    interval: 24 * H,
    grace: 2 * H,
    deleteuntagged: false,
  });
  assert.equal(buildConfig({}).berth.gc, undefined);
  const env = buildConfig({}, { REGISTRY_BERTH_GC_GRACE: "10m" });
  assert.equal(env.berth.gc?.grace, 10 * 60_000);
});

Deno.test("mistakes in the garbage-collection settings name the setting", () => {
  const refused = (berth: unknown, setting: string, text: RegExp) => {
    assert.throws(() => buildConfig({ berth }), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.setting, setting);
      assert.match(err.message, text);
      return true;
    });
  };
  refused({ gc: { graces: "1h" } }, "berth.gc.graces", /not a known setting/);
  refused({ gc: { grace: "soon" } }, "berth.gc.grace", /"soon"/);
  refused({ gc: { interval: "0s" } }, "berth.gc.interval", /positive duration/);
  refused({ retention: { policies: {} } }, "berth.retention.policies", /must be a list/);
  refused(
    { retention: { policies: [{ keeptag: [] }] } },
    "berth.retention.policies[0].keeptag",
    /not a known setting/,
  );
  refused(
    { retention: { policies: [{ repositories: ["Team/*"] }] } },
    "berth.retention.policies[0].repositories",
    /not a repository pattern/,
  );
  refused(
    { retention: { policies: [{ keeptags: [{ patterns: ["v(("] }] }] } },
    "berth.retention.policies[0].keeptags[0].patterns",
    /"v\(\(", which is not a regular expression/,
  );
  refused(
    { retention: { policies: [{ keeptags: [{ pulledwithin: 30 }] }] } },
    "berth.retention.policies[0].keeptags[0].pulledwithin",
    /"720h"/,
  );
  refused(
    { retention: { policies: [{ keeptags: [{ mostrecentlypushedcount: -1 }] }] } },
    "berth.retention.policies[0].keeptags[0].mostrecentlypushedcount",
    /whole number/,
  );
  refused(
    { retention: { policies: [{ deleteuntagged: "yes" }] } },
    "berth.retention.policies[0].deleteuntagged",
    /true or false/,
  );
});

/** A memory store that counts its commits. */
function counting(): { store: MetadataStore; commits: () => number } {
  const inner = new MemoryMetadataStore();
  let n = 0;
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === "commit") {
        return (...args: Parameters<MetadataStore["commit"]>) => {
          n++;
          return target.commit(...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store, commits: () => n };
}

Deno.test("pull times are coalesced: many pulls, a few commits, the latest time wins", async () => {
  const { store, commits } = counting();
  const pulls = new PullTimes({ store: () => store, logger: silentLogger, flushMs: 3600_000 });
  const event = (digest: string, at: number, tag?: string) => ({
    type: "manifest.pulled" as const,
    digest,
    size: 10,
    mediaType: "x",
    ...(tag ? { tag } : {}),
    id: crypto.randomUUID(),
    at,
    repository: "app",
    context: systemContext(),
  });
  try {
    for (let i = 0; i < 1000; i++) pulls.notify([event("sha256:a", NOW + i, "latest")]);
    pulls.notify([event("sha256:a", NOW - 5)]);
    assert.equal(commits(), 0, "a pull committed on its own");
    await pulls.flush();
    assert.equal(commits(), 1);
    assert.deepEqual((await store.get(["pulled", "app", "sha256:a"]))?.value, { at: NOW + 999 });
    assert.deepEqual((await store.get(["pulled-tag", "app", "latest"]))?.value, { at: NOW + 999 });
    for (let i = 0; i < 1200; i++) pulls.notify([event(`sha256:${i}`, NOW)]);
    await pulls.flush();
    assert.equal(commits(), 4, "1,200 times take three commits of at most 500");
  } finally {
    await pulls.close();
  }
});
