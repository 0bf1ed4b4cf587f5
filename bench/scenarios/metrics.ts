/**
 * @module
 * Berth-only: what Prometheus metrics cost. Two Berth processes side by side, one with
 * `http.debug.prometheus.enabled` (every request counted, timed and sized; storage and
 * metadata calls timed) and one without, take the same small requests at 32 connections,
 * rounds alternating between them. In the table the `berth` column is metrics on and the
 * `distribution` column is the same Berth with metrics off, so the ratio is on / off
 * (target >= 0.97x).
 */
import { rate } from "../clients.ts";
import type { Context } from "../context.ts";
import { freePort, type Server, startBerth } from "../servers.ts";
import { ACCEPT, REPO, seed, TAG } from "./rate.ts";

/** Small-request rates with metrics on against off, in one run. */
export async function metricsScenario(ctx: Context): Promise<void> {
  const debugPort = freePort();
  const on = await startBerth(`${ctx.root}/berth-metrics-on`, {
    REGISTRY_HTTP_DEBUG_ADDR: `127.0.0.1:${debugPort}`,
    REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: "true",
  });
  let off: Server | undefined;
  try {
    off = await startBerth(`${ctx.root}/berth-metrics-off`);
    const blobs = new Map<Server, string>([[on, await seed(on)], [off, await seed(off)]]);
    // The report's two columns: metrics on as "berth", metrics off as "distribution".
    const pair: Server[] = [on, { ...off, name: "distribution" }];
    const blobOf = (s: Server) => blobs.get(s.pid === on.pid ? on : off!)!;
    const cases: [string, "GET" | "HEAD", (s: Server) => string, string?][] = [
      ["GET /v2/", "GET", (s) => `${s.url}/v2/`],
      ["GET manifest by tag", "GET", (s) => `${s.url}/v2/${REPO}/manifests/${TAG}`, ACCEPT],
      ["HEAD blob", "HEAD", (s) => `${s.url}/v2/${REPO}/blobs/${blobOf(s)}`],
    ];
    for (const [name, method, url, accept] of cases) {
      const row = await ctx.report.compare(
        pair,
        `metrics on / off: ${name} (32 conns, ${method === "GET" ? "wrk" : "hey"})`,
        "req/s",
        true,
        { ratioAtLeast: 0.97 },
        ctx.sizes.repeats,
        (s) => rate(url(s), method, ctx.sizes.rateSeconds, accept),
      );
      row.notes.push("berth column: metrics on; distribution column: the same Berth, metrics off");
    }
    const scraped = await (await fetch(`http://127.0.0.1:${debugPort}/metrics`)).text();
    const counted = [...scraped.matchAll(/^registry_http_requests_total\{[^}]*\} (\d+)$/gm)]
      .reduce((sum, m) => sum + Number(m[1]), 0);
    if (counted === 0) throw new Error("the metrics-on server counted no requests");
    console.error(`  metrics on: ${counted} requests counted in registry_http_requests_total`);
  } finally {
    await off?.stop();
    await on.stop();
  }
}
