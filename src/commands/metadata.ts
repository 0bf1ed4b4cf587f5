/**
 * @module
 * `metadata export|import`: moves a registry's metadata between stores, so a registry
 * started on the embedded Deno KV file can move to PostgreSQL (a fleet), and back.
 *
 * ```sh
 * deno task metadata export <location> [--config <file>]   # configured store -> location
 * deno task metadata import <location> [--config <file>]   # location -> configured store
 * berth metadata export <location> ...                      # the same, in the binary
 * ```
 *
 * The configured store is the one the registry itself uses (`berth.metadata` from the
 * file and the `REGISTRY_*` environment, as `serve` reads them). `<location>` is a
 * `postgres://` URL (the password in it, or in `PGPASSWORD`), a KV Connect `http(s)://`
 * URL (with `DENO_KV_ACCESS_TOKEN`), or a Deno KV file path. Stop the registry first; the
 * target must be empty. After the copy both stores are compared record by record, and
 * the command fails unless they hold the same records.
 *
 * Exit status: 0 when the copy is complete and verified, 1 when it was refused or the
 * stores differ, 2 for a usage or configuration error.
 */
import { type MetadataStoreOptions, openMetadataStore } from "../../drivers/factory.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { redact } from "../config/metadata.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { copyMetadata, CopyRefusedError } from "./metadata_copy.ts";

const USAGE = `Usage: metadata export <location> [--config <file>]
       metadata import <location> [--config <file>]

export copies the configured metadata store into <location>; import copies <location>
into the configured store. <location> is a postgres:// URL, an http(s):// KV Connect URL
or a Deno KV file path. Stop the registry first; the target must be empty.`;

/** Where the command writes and which environment it reads (the process's by default). */
export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  env?: Record<string, string | undefined>;
}

const defaultIo: CommandIo = { out: console.log, err: console.error };

/** Store options for a location given on the command line. */
export function locationOptions(location: string): MetadataStoreOptions {
  if (/^postgres(ql)?:\/\//i.test(location)) return { driver: "postgres", url: location, pool: 2 };
  if (/^https?:\/\//i.test(location)) return { driver: "kv", url: location };
  return { driver: "kv", path: location };
}

/** A store's options as words for the report, without a password. */
function describe(o: MetadataStoreOptions): string {
  return `${o.driver} ${o.url ? redact(o.url) : o.path ?? ""}`.trim();
}

/** Parses `<verb> <location> [--config <file>]`; null when the words do not fit. */
function parse(args: string[]) {
  const [verb, ...rest] = args;
  if (verb !== "export" && verb !== "import") return null;
  let location: string | undefined;
  let config: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--config" && i + 1 < rest.length) config = rest[++i];
    else if (a.startsWith("--config=")) config = a.slice("--config=".length);
    else if (!a.startsWith("-") && location === undefined) location = a;
    else return null;
  }
  return location ? { verb, location, config } : null;
}

/** Runs the command with `args` (the words after `metadata`); resolves to the exit status. */
export async function metadataCommand(args: string[], io: CommandIo = defaultIo): Promise<number> {
  if (args.length === 1 && (args[0] === "--help" || args[0] === "-h")) {
    io.out(USAGE);
    return 0;
  }
  const parsed = parse(args);
  if (!parsed) {
    io.err(USAGE);
    return 2;
  }
  let config;
  try {
    config = await loadConfig({
      args: parsed.config ? ["--config", parsed.config] : [],
      env: io.env,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return 2;
  }
  const configured = config.berth.metadata as MetadataStoreOptions;
  if (configured.driver === "memory") {
    io.err(`The configured metadata store is "memory": there is nothing to copy to or from`);
    return 2;
  }
  const other = locationOptions(parsed.location);
  const [fromOptions, toOptions] = parsed.verb === "export"
    ? [configured, other]
    : [other, configured];
  if (fromOptions.path !== undefined && !await exists(fromOptions.path)) {
    io.err(`The source store "${fromOptions.path}" does not exist`);
    return 2;
  }
  const opened: MetadataStore[] = [];
  try {
    const from = await openMetadataStore(fromOptions);
    opened.push(from);
    const to = await openMetadataStore(toOptions);
    opened.push(to);
    io.out(`Copying metadata from ${describe(fromOptions)} to ${describe(toOptions)}`);
    let reported = 0;
    const report = await copyMetadata(from, to, {
      sessionTtlMs: config.berth.uploads.sessionttl,
      progress: (n) => {
        if (n - reported < 10_000) return;
        reported = n;
        io.out(`  ${n} records copied`);
      },
    });
    io.out(
      `Copied ${report.copied} records; left out ${report.skipped} heartbeats and leases`,
    );
    const { same, different, examples } = report.verified;
    if (different > 0) {
      io.err(`The stores differ after the copy: ${different} records (${same} alike)`);
      for (const e of examples) io.err(`  ${JSON.stringify(e.key)}: ${e.problem}`);
      return 1;
    }
    io.out(`Verified: both stores hold the same ${same} records`);
    return 0;
  } catch (err) {
    if (err instanceof CopyRefusedError) {
      io.err(err.message);
      return 1;
    }
    io.err(`The copy failed: ${(err as Error).message}`);
    return 1;
  } finally {
    for (const s of opened) await s.close().catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
