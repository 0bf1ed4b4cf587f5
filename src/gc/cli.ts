/**
 * @module
 * The offline commands, which are safe to run while registries serve the same storage:
 *
 * ```sh
 * deno task gc [--dry-run] [--delete-untagged] [--grace=<duration>] [--json] [config.yml]
 * deno task scrub [--dry-run] [--json] [config.yml]
 * ```
 *
 * Both read the configuration as the registry does (the file, or
 * `REGISTRY_CONFIGURATION_PATH`, and `REGISTRY_*` variables), open its drivers, take the
 * fleet-wide lease the online job takes (`gc` or `scrub`: nothing runs twice at once),
 * print the report (text, or JSON with `--json`) and exit 0; 1 when another run holds
 * the lease or the run failed, 2 for bad arguments or configuration. The grace and
 * `deleteuntagged` come from `berth.gc` (default 2h and false) unless given here.
 *
 * The tasks run with V8's `--optimize-for-size`: a collection over 25,000 blobs then
 * peaks at about half the memory for a tenth more time.
 */
import { openBlobDriver, openMetadataStore } from "../../drivers/factory.ts";
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";
import { parseDuration } from "../config/duration.ts";
import { Leases } from "../jobs/lease.ts";
import { Scheduler } from "../jobs/scheduler.ts";
import { createLogger } from "../log.ts";
import { HEARTBEAT_TTL_MS, Instances } from "../registry/instances.ts";
import { collect } from "./collector.ts";
import { formatReport } from "./report.ts";
import { scrub } from "./scrub.ts";

/** Parsed command line of one command. */
interface Args {
  command: "gc" | "scrub";
  dryRun: boolean;
  deleteUntagged: boolean;
  grace?: number;
  json: boolean;
  config?: string;
}

function usage(): string {
  return "usage: deno task gc [--dry-run] [--delete-untagged] [--grace=<duration>] [--json] " +
    "[config.yml]\n       deno task scrub [--dry-run] [--json] [config.yml]";
}

/** Parses `argv` (the command first); throws a message for bad arguments. */
export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command !== "gc" && command !== "scrub") throw new Error(usage());
  const args: Args = { command, dryRun: false, deleteUntagged: false, json: false };
  for (const arg of rest) {
    if (arg === "--dry-run") args.dryRun = true;
    else if (arg === "--json") args.json = true;
    else if (arg === "--delete-untagged" && command === "gc") args.deleteUntagged = true;
    else if (arg.startsWith("--grace=") && command === "gc") {
      const ms = parseDuration(arg.slice("--grace=".length));
      if (ms === null) {
        throw new Error(`--grace takes a duration such as "2h" or "0s", got "${arg}"`);
      }
      args.grace = ms;
    } else if (!arg.startsWith("-") && args.config === undefined) args.config = arg;
    else throw new Error(`Unknown argument "${arg}"\n${usage()}`);
  }
  return args;
}

/** Runs one command; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let args: Args;
  let config: Config;
  try {
    args = parseArgs(argv);
    config = await loadConfig({ args: args.config ? [args.config] : [] });
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const instanceId = `${args.command}-${crypto.randomUUID().slice(0, 8)}`;
  // Logs go to stderr: stdout carries the report.
  const logger = createLogger({
    level: config.log.level,
    format: config.log.formatter,
    instanceId,
    write: (_, line) => console.error(line),
  });
  let driver, store;
  try {
    driver = await openBlobDriver(config.storage);
    store = await openMetadataStore(config.berth.metadata);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `Cannot open storage: ${err}`);
    await driver?.close?.();
    return 2;
  }
  const instances = new Instances(store, instanceId);
  const heartbeat = setInterval(() => instances.beat().catch(() => {}), HEARTBEAT_TTL_MS / 3);
  let output = "";
  let failed: unknown = null;
  try {
    await instances.beat();
    const scheduler = new Scheduler(new Leases(store, instances, 30_000), logger);
    scheduler.add({
      name: args.command,
      interval: 24 * 3600_000,
      fleet: "one",
      run: async (signal) => {
        try {
          if (args.command === "gc") {
            const gc = config.berth.gc;
            const report = await collect(driver, store, {
              grace: args.grace ?? gc?.grace ?? 2 * 3600_000,
              deleteUntagged: args.deleteUntagged || (gc?.deleteuntagged ?? false),
              retention: config.berth.retention,
              dryRun: args.dryRun,
              signal,
              logger,
            });
            output = args.json ? JSON.stringify(report, null, 2) : formatReport(report);
          } else {
            const report = await scrub(driver, store, { dryRun: args.dryRun, signal, logger });
            output = args.json ? JSON.stringify(report, null, 2) : [
              `${args.dryRun ? "checked" : "scrubbed"} ${report.checked} blobs ` +
              `(${report.bytes} bytes) in ${(report.ms / 1000).toFixed(1)} s`,
              `${report.bad.length} bad${
                report.dryRun ? " (left in place: dry run)" : " (removed)"
              }`,
              ...report.bad.map((b) => `  ${b.digest}: ${b.why}`),
            ].join("\n");
          }
        } catch (err) {
          failed = err;
        }
      },
    });
    if (!await scheduler.runNow(args.command)) {
      console.error(`Another ${args.command} run holds the fleet-wide lease; try again later`);
      return 1;
    }
    if (failed) {
      console.error(`The ${args.command} run failed: ${(failed as Error).stack ?? failed}`);
      return 1;
    }
    console.log(output);
    return 0;
  } finally {
    clearInterval(heartbeat);
    await instances.retire().catch(() => {});
    await store.close();
    await driver.close?.();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
