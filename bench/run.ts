/**
 * @module
 * `deno task bench`: the same scenarios against Berth and CNCF distribution 2.8.2, side by
 * side on loopback in one run. Prints a table of both medians, the ratio (above 1 means
 * Berth is better) and the targets, and writes every sample to `bench/results/latest.json`.
 *
 * Flags: `--quick` (small sizes, one round), `--only=<scenario>[,<scenario>...]` with
 * scenarios push, chunked, streamed, pull, skopeo, buildah, rate, metrics, resume, rss, s3,
 * postgres, ui, notify, mirror, gc (`transfer` = push, chunked, streamed and pull). See
 * `bench/README.md`.
 */
import { type Context, MiB, sizes as sizesFor } from "./context.ts";
import { blobFile } from "./data.ts";
import { memory, type Server, startBerth, startDistribution, stopAll } from "./servers.ts";
import { renderTable, Report } from "./report.ts";
import { postgresScenario } from "./scenarios/postgres.ts";
import { metricsScenario } from "./scenarios/metrics.ts";
import { notifyScenario } from "./scenarios/notify.ts";
import { gcScenario } from "./scenarios/gc.ts";
import { buildahScenario } from "./scenarios/buildah.ts";
import { rateScenario } from "./scenarios/rate.ts";
import { resumeScenario } from "./scenarios/resume.ts";
import { rssScenario } from "./scenarios/rss.ts";
import { s3Scenario } from "./scenarios/s3.ts";
import { skopeoScenario } from "./scenarios/skopeo.ts";
import { streamedScenario } from "./scenarios/streamed.ts";
import { chunkedScenario, pullScenario, pushScenario } from "./scenarios/transfer.ts";
import { uiScenario } from "./scenarios/ui.ts";
import { mirrorScenario } from "./scenarios/mirror.ts";

const SCENARIOS = [
  "push",
  "chunked",
  "streamed",
  "pull",
  "skopeo",
  "buildah",
  "rate",
  "metrics",
  "resume",
  "rss",
  "s3",
  "postgres",
  "ui",
  "notify",
  "mirror",
  "gc",
] as const;
type Scenario = typeof SCENARIOS[number];
const ALIASES: Record<string, Scenario[]> = {
  transfer: ["push", "chunked", "streamed", "pull"],
};

function parseArgs(args: string[]): { quick: boolean; only: Set<Scenario> } {
  let quick = false;
  let only = new Set<Scenario>(SCENARIOS);
  for (const arg of args) {
    if (arg === "--quick") quick = true;
    else if (arg.startsWith("--only=")) {
      only = new Set();
      for (const name of arg.slice("--only=".length).split(",").filter(Boolean)) {
        const picked = ALIASES[name] ?? (SCENARIOS.includes(name as Scenario) ? [name] : null);
        if (!picked) {
          throw new Error(
            `Unknown scenario "${name}": pick from ${SCENARIOS.join(", ")}, transfer`,
          );
        }
        for (const p of picked) only.add(p as Scenario);
      }
    } else throw new Error(`Unknown argument "${arg}": use --quick and --only=<scenarios>`);
  }
  return { quick, only };
}

async function tools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of ["docker-registry", "curl", "wrk", "hey", "skopeo", "buildah"]) {
    const ok = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output().then((r) => r.success);
    if (!ok) missing.push(tool);
  }
  return missing;
}

async function main(): Promise<void> {
  let options;
  try {
    options = parseArgs(Deno.args);
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(2);
  }
  const { quick, only } = options;
  const missing = await tools();
  if (missing.length) {
    console.error(`Missing tools: ${missing.join(", ")} (apt-get install -y ${missing.join(" ")})`);
    Deno.exit(2);
  }
  const sizes = sizesFor(quick);
  const root = await Deno.makeTempDir({ prefix: "berth-bench-" });
  const cleanUp = async () => {
    await stopAll();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  const interrupted = async () => {
    console.error("\ninterrupted: stopping the registries");
    await cleanUp();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);

  const report = new Report();
  const started = new Date();
  try {
    console.error(`preparing a ${sizes.blob / MiB} MiB test blob in ${root}`);
    const blob = await blobFile(`${root}/blob.bin`, sizes.blob, sizes.chunk);
    const servers: Server[] = [await startBerth(`${root}/berth`)];
    try {
      servers.push(await startDistribution(`${root}/distribution`));
    } catch (err) {
      report.absent.set("distribution", (err as Error).message.slice(0, 200));
      console.error(`  ${(err as Error).message}`);
    }
    const ctx: Context = { quick, sizes, root, servers, blob, report };
    const where = { servers, label: "" };
    const steps: [Scenario, () => Promise<void>][] = [
      ["push", () => pushScenario(ctx, where)],
      ["chunked", () => chunkedScenario(ctx, where)],
      ["streamed", () => streamedScenario(ctx)],
      ["pull", () => pullScenario(ctx, where, true)],
      ["skopeo", () => skopeoScenario(ctx)],
      ["buildah", () => buildahScenario(ctx)],
      ["rate", () => rateScenario(ctx)],
      ["metrics", () => metricsScenario(ctx)],
      ["resume", () => resumeScenario(ctx)],
      ["rss", () => rssScenario(ctx)],
      ["s3", () => s3Scenario(ctx, only.has("rss") || only.size === 1)],
      ["postgres", () => postgresScenario(ctx)],
      ["ui", () => uiScenario(ctx)],
      ["notify", () => notifyScenario(ctx)],
      ["mirror", () => mirrorScenario(ctx)],
      ["gc", () => gcScenario(ctx)],
    ];
    for (const [name, step] of steps) {
      if (!only.has(name)) continue;
      console.error(`${name}:`);
      try {
        await step();
      } catch (err) {
        // One broken scenario must not cost the others' figures.
        report.add({
          scenario: `${name} (failed)`,
          unit: "",
          berth: null,
          distribution: null,
          higherIsBetter: true,
          target: null,
          notes: [(err as Error).message.replace(/\s+/g, " ").slice(0, 200)],
        });
        console.error(`  ${name} failed: ${(err as Error).stack}`);
      }
    }
    // The long-running pair's own high-water marks over every scenario above.
    const peaks = await Promise.all(servers.map((s) => memory(s.pid).catch(() => null)));
    const peakOf = (name: Server["name"]) =>
      peaks[servers.findIndex((s) => s.name === name)]?.peak ?? null;
    report.add({
      scenario: "peak RSS of the long-running servers over this run",
      unit: "MiB",
      berth: peakOf("berth"),
      distribution: peakOf("distribution"),
      higherIsBetter: false,
      target: null,
    });
  } finally {
    await cleanUp();
  }

  console.log(
    `\nBerth vs CNCF distribution 2.8.2 on loopback, filesystem storage, ${
      quick ? "--quick" : "full"
    } run: medians of ${sizes.repeats} round(s) (pulls: 3x as many).`,
  );
  console.log(
    `The load tools (curl, wrk, hey, skopeo) share this machine's ${navigator.hardwareConcurrency} ` +
      "cores with the server under test: absolute figures move between runs; compare the " +
      "ratios of one run. ratio > 1 means Berth is better.\n",
  );
  console.log(renderTable(report.rows));
  const dir = new URL("./results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const out = `${dir}latest.json`;
  await Deno.writeTextFile(
    out,
    JSON.stringify(
      { date: started.toISOString(), quick, sizes, scenarios: [...only], rows: report.rows },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nresults: ${out}`);
  Deno.removeSignalListener("SIGINT", interrupted);
  Deno.removeSignalListener("SIGTERM", interrupted);
}

if (import.meta.main) await main();
