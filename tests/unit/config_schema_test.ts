import assert from "node:assert/strict";
import { applyEnv } from "../../src/config/env.ts";
import { SECTIONS } from "../../src/config/mod.ts";
import { Reader } from "../../src/config/reader.ts";
import { checkKeys, composeSchema, topLevelKeys } from "../../src/config/schema.ts";
import type { Section } from "../../src/config/section.ts";
import { assertConfigError } from "../helpers/config.ts";

/** A section as a new capability would add it. */
const metrics: Section<"metrics", { enabled: boolean; path: string }> = {
  key: "metrics",
  schema: {
    metrics: { keys: ["enabled", "path", "labels"], ignore: ["namespace"] },
    "metrics.labels": { keys: ["instance"] },
  },
  read: (r) => ({
    enabled: r.bool("metrics.enabled") ?? false,
    path: r.text("metrics.path") ?? "/metrics",
  }),
};

Deno.test("config schema: a new section is one more entry, checked like the others", () => {
  const schema = composeSchema([...SECTIONS, metrics]);
  assert.ok(topLevelKeys(schema).includes("metrics"));
  const doc = { metrics: { path: "/m", namespace: "x", labels: { instance: "a" } } };
  const { origins } = applyEnv(doc, { REGISTRY_METRICS_ENABLED: "true" }, topLevelKeys(schema), {});
  const r = new Reader(doc, origins);
  assert.deepEqual(checkKeys(schema, r), ["metrics.namespace"]);
  assert.deepEqual(metrics.read(r, {}), { enabled: true, path: "/m" });
  const typo = new Reader({ metrics: { labels: { instanse: "a" } } });
  assertConfigError(() => checkKeys(schema, typo), "metrics.labels.instanse", /not a known/);
  // Without the section, the key is unknown.
  const without = composeSchema(SECTIONS);
  assertConfigError(() => checkKeys(without, new Reader(doc)), "metrics", /not a known setting/);
});

Deno.test("config schema: sections that overlap or describe others are programming errors", () => {
  const section = (key: string, schema: Section["schema"]): Section => ({
    key,
    schema,
    read: () => undefined,
  });
  assert.throws(
    () => composeSchema([section("metrics", { "log.extra": { keys: [] } })]),
    /Section "metrics" describes "log.extra", which is outside it/,
  );
  assert.throws(
    () => composeSchema([section("metricsx", { metrics: { keys: [] } })]),
    /describes "metrics", which is outside it/,
  );
  assert.throws(
    () => composeSchema([...SECTIONS, section("log", { log: { keys: [] } })]),
    /"log" is described twice/,
  );
  assert.throws(
    () => composeSchema([section("redis", {})]),
    /Section "redis" is implemented: remove it from IGNORED_SECTIONS/,
  );
});

Deno.test("config schema: every listed section describes only itself", () => {
  for (const s of SECTIONS) {
    for (const path of Object.keys(s.schema)) {
      assert.ok(path === s.key || path.startsWith(`${s.key}.`), `${s.key}: ${path}`);
    }
  }
  assert.deepEqual(
    SECTIONS.map((s) => s.key),
    [
      "log",
      "http",
      "storage",
      "berth",
      "auth",
      "notifications",
      "proxy",
      "compatibility",
      "health",
    ],
  );
});
