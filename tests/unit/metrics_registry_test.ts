import assert from "node:assert/strict";
import { MetricsRegistry } from "../../src/metrics/registry.ts";
import { assertPromtoolAccepts, parseSamples, valueOf } from "../helpers/prometheus.ts";

Deno.test("metrics registry: the text format, with escapes, cumulative buckets and +Inf", async () => {
  const m = new MetricsRegistry();
  const c = m.counter({
    name: "t_events_total",
    help: 'Events \\ with "quotes"\nand lines',
    labels: ["kind"],
  });
  c.labels('a"b\\c\nd').inc(2);
  c.labels("plain").inc();
  const h = m.histogram({ name: "t_wait_seconds", help: "Waits.", buckets: [0.1, 1] });
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe(v);
  const g = m.gauge({ name: "t_open", help: "Open things." });
  g.set(-2.5);
  m.gauge({ name: "t_unused", help: "Never set." });
  const text = await m.render();
  assert.ok(text.includes('# HELP t_events_total Events \\\\ with "quotes"\\nand lines\n'), text);
  assert.ok(text.includes('t_events_total{kind="a\\"b\\\\c\\nd"} 2\n'), text);
  assert.ok(!text.includes("t_unused"), "a metric without series is left out");
  const samples = parseSamples(text);
  assert.equal(valueOf(samples, "t_events_total", { kind: 'a"b\\c\nd' }), 2);
  assert.equal(valueOf(samples, "t_wait_seconds_bucket", { le: "0.1" }), 2); // le is inclusive
  assert.equal(valueOf(samples, "t_wait_seconds_bucket", { le: "1" }), 3);
  assert.equal(valueOf(samples, "t_wait_seconds_bucket", { le: "+Inf" }), 4);
  assert.equal(valueOf(samples, "t_wait_seconds_count"), 4);
  assert.equal(valueOf(samples, "t_wait_seconds_sum"), 3.65);
  assert.equal(valueOf(samples, "t_open"), -2.5);
  await assertPromtoolAccepts(text);
});

Deno.test("metrics registry: bad names, label counts, kinds and counters going down are refused", () => {
  const m = new MetricsRegistry();
  assert.throws(() => m.counter({ name: "1bad", help: "x" }), /Metric name "1bad" is not valid/);
  assert.throws(
    () => m.counter({ name: "ok_total", help: "x", labels: ["__x"] }),
    /Label name "__x"/,
  );
  assert.throws(
    () => m.histogram({ name: "h", help: "x", labels: ["le"] }),
    /cannot have a label "le"/,
  );
  assert.throws(() => m.histogram({ name: "h2", help: "x", buckets: [1, 1] }), /ascending/);
  const c = m.counter({ name: "c_total", help: "x", labels: ["a", "b"] });
  assert.throws(() => c.labels("only-one"), /takes 2 label values, got 1/);
  assert.throws(() => c.labels("a", "b").inc(-1), /cannot go down/);
  assert.throws(
    () => m.counter({ name: "c_total", help: "x", labels: ["a"] }),
    /already registered/,
  );
  assert.equal(m.counter({ name: "c_total", help: "x", labels: ["a", "b"] }), c);
});

Deno.test("metrics registry: a gauge's collect runs at each scrape; a failing one keeps its value", async () => {
  const m = new MetricsRegistry();
  let n = 0;
  let fail = false;
  m.gauge({
    name: "t_collected",
    help: "Collected.",
    collect(g) {
      if (fail) throw new Error("backend down");
      g.set(++n);
    },
  });
  assert.equal(valueOf(parseSamples(await m.render()), "t_collected"), 1);
  assert.equal(valueOf(parseSamples(await m.render()), "t_collected"), 2);
  fail = true;
  assert.equal(valueOf(parseSamples(await m.render()), "t_collected"), 2);
});
