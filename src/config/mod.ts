/**
 * @module
 * Configuration: a YAML file in the shape of CNCF distribution's `config.yml` for the
 * parts that apply, `REGISTRY_*` environment overrides in distribution's naming
 * (`env.ts`), and Berth-only settings under `berth:`. An invalid configuration throws
 * {@linkcode ConfigError} naming the setting; Berth never starts half-configured.
 *
 * Keys distribution knows but Berth does not implement (`redis`,
 * `storage.cache`, ...) are accepted and listed in {@linkcode Config.ignored}; a key
 * neither knows is an error, so a typo such as `storage.delete.enabeld` cannot pass
 * silently. `auth` is kept as written for its own module to validate (`raw.ts`).
 *
 * Value forms: durations are Go-style strings (`30s`, `10m`, `168h`, `1h30m`; bare numbers
 * are refused), sizes are whole numbers of bytes, booleans are `true`/`false`.
 *
 * ## One file per section
 *
 * Each top-level section is a {@linkcode Section} in a file of its own (`log.ts`,
 * `http.ts`, `storage.ts`, `berth.ts`; the raw ones in `raw.ts`), which holds, together:
 *
 * - the section's TypeScript type, with each setting's default and unit in its JSDoc;
 * - its part of the key schema: for each of its mappings, the keys Berth reads, the keys
 *   of distribution's format it accepts without implementing (`ignore`) and the ones it
 *   refuses with a reason (`refuse`);
 * - the mechanisms `REGISTRY_<SECTION>=<choice>` chooses between (`selects`), if any;
 * - its `read` function, which turns the checked document into the typed section through
 *   the {@linkcode Reader} (`r.duration`, `r.bool`, `r.fail` ...), so values from the
 *   file and from the environment are converted and refused the same way.
 *
 * {@linkcode SECTIONS} below lists them; `schema.ts` joins their key sets, `env.ts` takes
 * their keys and selectors, and {@linkcode Config} is assembled from their types. A new
 * capability (a pull-through cache's `proxy:`, `notifications:`, garbage collection,
 * metrics, a UI, a PostgreSQL store) therefore adds its section as one new file and one
 * line in that list (replacing its stub in `raw.ts` where there is one). A setting inside
 * an existing section (`berth.uploads.stalltimeout`) is one key in that file's schema, one
 * line in its `read` and one in its type. Sections are read in list order, after every key
 * was checked; a section whose default depends on another's setting reads it through that
 * section's exported helper (`storage.ts` uses `dataDir` of `berth.ts`).
 */
import { berth } from "./berth.ts";
import { compatibility } from "./compatibility.ts";
import { applyEnv } from "./env.ts";
import { health } from "./health.ts";
import { http } from "./http.ts";
import { log } from "./log.ts";
import { notifications } from "./notifications.ts";
import { proxy } from "./proxy.ts";
import { auth } from "./raw.ts";
import { ConfigError, isObject, Reader } from "./reader.ts";
import { checkKeys, composeSchema, topLevelKeys } from "./schema.ts";
import type { Env, Section, SectionValue } from "./section.ts";
import { storage } from "./storage.ts";

export { ConfigError };
export type { Section };
export type { LogConfig, LogLevel } from "./log.ts";
export type { DebugConfig, HttpConfig, TlsConfig } from "./http.ts";
export type { HealthConfig } from "./health.ts";
export type { S3Config, StorageConfig } from "./storage.ts";
export type { BerthConfig } from "./berth.ts";
export type { CompatibilityConfig } from "./compatibility.ts";
export type { EndpointConfig, NotificationAction, NotificationsConfig } from "./notifications.ts";
export type { MirrorConfig, ProxyConfig } from "./proxy.ts";

/** The sections of the configuration, in the order they are read. */
export const SECTIONS = [
  log,
  http,
  storage,
  berth,
  auth,
  notifications,
  proxy,
  compatibility,
  health,
] as const;

type Sections = (typeof SECTIONS)[number];
/** Sections whose value may be absent become optional keys of {@linkcode Config}. */
type Assembled =
  & { [S in Sections as undefined extends SectionValue<S> ? never : S["key"]]: SectionValue<S> }
  & {
    [S in Sections as undefined extends SectionValue<S> ? S["key"] : never]?: Exclude<
      SectionValue<S>,
      undefined
    >;
  };

/**
 * The validated configuration: one key per section of {@linkcode SECTIONS}, typed by
 * that section. Durations are in milliseconds, sizes in bytes.
 */
export interface Config extends Assembled {
  /**
   * Settings Berth accepts but does not implement, as dotted paths (`storage.cache`), and
   * `REGISTRY_*` variables naming no section, for a warning at start-up.
   */
  ignored: string[];
}

const SCHEMA = composeSchema(SECTIONS);
const TOP_LEVEL = topLevelKeys(SCHEMA);
const SELECTORS: Record<string, readonly string[]> = Object.fromEntries(
  SECTIONS.flatMap((s: Section) => s.selects ? [[s.key, s.selects]] : []),
);

/** How {@linkcode loadConfig} finds its inputs (the process's own by default). */
export interface LoadOptions {
  /** Command-line arguments: `[serve] [<path>]` or `[serve] --config <path>`. */
  args?: string[];
  /** Environment variables; default `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** File reader; default `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
}

/**
 * Reads the configuration file named by the arguments (`serve <path>`, `<path>` or
 * `--config <path>`) or by `REGISTRY_CONFIGURATION_PATH`, if any, and builds the
 * configuration from it and the environment.
 */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const env = options.env ?? Deno.env.toObject();
  const fromArgs = configPath(options.args ?? []);
  const path = fromArgs ?? (env.REGISTRY_CONFIGURATION_PATH || undefined);
  if (path === undefined) return buildConfig({}, env);
  const setting = fromArgs === undefined ? "REGISTRY_CONFIGURATION_PATH" : "file";
  let text: string;
  try {
    text = await (options.readTextFile ?? Deno.readTextFile)(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read";
    throw new ConfigError(setting, `"${path}" ${why}: ${(err as Error).message}`);
  }
  // Loaded only when there is a file: a process configured from the environment alone
  // (the edge) never pays for the YAML parser.
  const { parse, YAMLError } = await import("yaml");
  let doc: unknown;
  try {
    // Merge keys (`<<: *base`) as distribution's YAML library reads them.
    doc = parse(text, { merge: true });
  } catch (err) {
    if (!(err instanceof YAMLError)) throw err;
    // The parser's message carries the line and column and quotes the offending line.
    throw new ConfigError(setting, `"${path}" is not valid YAML: ${err.message.trimEnd()}`);
  }
  return buildConfig(doc ?? {}, env);
}

/** The file path in `args`, distribution's `serve <path>` or Berth's `--config <path>`. */
function configPath(args: string[]): string | undefined {
  const rest = args[0] === "serve" ? args.slice(1) : args;
  if (rest.length === 0) return undefined;
  if (rest.length === 1 && rest[0].startsWith("--config=")) {
    return rest[0].slice("--config=".length) || undefined;
  }
  if (rest.length === 1 && !rest[0].startsWith("-")) return rest[0];
  if (rest.length === 2 && rest[0] === "--config" && !rest[1].startsWith("-")) return rest[1];
  throw new ConfigError(
    "args",
    `must be "[serve] <path>" or "[serve] --config <path>", got "${args.join(" ")}"`,
  );
}

/**
 * Builds a validated configuration from a parsed YAML document (`{}` for none) and the
 * environment's `REGISTRY_*` and `AWS_*` variables. Pure: no I/O, `doc` is not modified.
 */
export function buildConfig(doc: unknown, env: Env = {}): Config {
  if (!isObject(doc)) {
    throw new ConfigError("file", `must be a YAML mapping, got ${JSON.stringify(doc)}`);
  }
  const d = structuredClone(doc);
  const { origins, skipped } = applyEnv(d, env, TOP_LEVEL, SELECTORS);
  const r = new Reader(d, origins);
  const ignored = [...checkKeys(SCHEMA, r), ...skipped];
  const config: Record<string, unknown> = {};
  for (const section of SECTIONS as readonly Section[]) {
    const value = section.read(r, env);
    if (value !== undefined) config[section.key] = value;
  }
  config.ignored = ignored;
  return config as unknown as Config;
}
