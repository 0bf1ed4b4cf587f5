/**
 * @module
 * Configuration: a YAML file in the shape of CNCF distribution's `config.yml` for the
 * parts that apply, `REGISTRY_*` environment overrides in distribution's naming
 * (`src/config_env.ts`), and Berth-only settings under `berth:`. An invalid configuration
 * throws {@linkcode ConfigError} naming the setting; Berth never starts half-configured.
 *
 * Keys distribution knows but Berth does not implement (`health`, `redis`, `storage.cache`,
 * ...) are accepted and listed in {@linkcode Config.ignored}; a key neither knows is an
 * error, so a typo such as `storage.delete.enabeld` cannot pass silently. `auth`,
 * `notifications` and `proxy` are kept as written for their own modules to validate.
 *
 * Value forms: durations are Go-style strings (`30s`, `10m`, `168h`, `1h30m`; bare numbers
 * are refused), sizes are whole numbers of bytes, booleans are `true`/`false`.
 */
import { applyEnv } from "./config_env.ts";
import { ConfigError, isObject, Reader } from "./config_reader.ts";
import { checkKeys, RAW, TOP_LEVEL } from "./config_schema.ts";

export { ConfigError };

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** distribution's `storage.s3` settings (AWS S3, R2, MinIO, Ceph ...). */
export interface S3Config {
  region: string;
  bucket: string;
  /** Endpoint of an S3-compatible service, `https://host` or a bare `host[:port]`. */
  regionendpoint?: string;
  /** Default false (virtual-hosted buckets). */
  forcepathstyle: boolean;
  /** Default: `AWS_ACCESS_KEY_ID`, with `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. */
  accesskey?: string;
  secretkey?: string;
  sessiontoken?: string;
  /** Key prefix without leading or trailing slashes; default "". */
  rootdirectory: string;
  /** Multipart part size in bytes; default 10 MiB, at least 5 MiB. */
  chunksize: number;
  /** https for an endpoint given without a scheme; default true. */
  secure: boolean;
}

/** The validated configuration. Durations are in milliseconds, sizes in bytes. */
export interface Config {
  log: {
    /** Default `info`. */
    level: LogLevel;
    /** Default `json`; distribution's `logstash` (JSON too) reads as `json`. */
    formatter: "json" | "text";
    /** One line per request unless `disabled`. */
    accesslog: { disabled: boolean };
  };
  http: {
    /** `host:port` or `:port`; default `:5000`. */
    addr: string;
    /** From `addr`; `0.0.0.0` for `:port`, brackets removed from an IPv6 address. */
    hostname: string;
    port: number;
    /** External base URL (origin only), for absolute `Location` headers. */
    host?: string;
    /** Signs upload state; generated and kept in the metadata store when absent. */
    secret?: string;
    /** Headers added to every response. */
    headers: Record<string, string[]>;
  };
  storage: {
    /** The one driver section present; none means `filesystem`. */
    driver: "filesystem" | "inmemory" | "s3";
    /** Default root: `${berth.datadir}/blobs`. */
    filesystem: { rootdirectory: string };
    /** Present only when `driver` is `s3`. */
    s3?: S3Config;
    /** Default true in Berth; distribution's default is false. */
    delete: { enabled: boolean };
    /** Default true: blobs are served by Berth, not redirected to the storage's URLs. */
    redirect: { disable: boolean };
    maintenance: {
      /** Defaults as distribution's: enabled, age 168h, interval 24h, no dry run. */
      uploadpurging: { enabled: boolean; age: number; interval: number; dryrun: boolean };
    };
  };
  /** The `auth:` section as written (validated by `src/auth/`). */
  auth?: Record<string, unknown>;
  /** The `notifications:` section as written. */
  notifications?: Record<string, unknown>;
  /** The `proxy:` section as written. */
  proxy?: Record<string, unknown>;
  berth: {
    /** Default `./data`. */
    datadir: string;
    /**
     * Default `kv` at `${datadir}/metadata.kv`; `url` (KV Connect) replaces `path`;
     * `memory` takes neither.
     */
    metadata: { driver: "kv" | "memory"; path?: string; url?: string };
    /** Largest manifest accepted; default 4 MiB. */
    manifests: { maxbytes: number };
    uploads: {
      /** Default `auto`. */
      hashing: "auto" | "portable";
      /** Idle upload sessions expire after this; default 24h. */
      sessionttl: number;
      /** A crashed writer's hold on an upload runs out after this; default 15s. */
      lease: number;
    };
    /** Names this process in logs; random when absent. */
    instanceid?: string;
    /** Which HTTP server serves (`src/http/server/serve.ts`); default `auto`. */
    http: { server: "auto" | "berth" | "deno" };
  };
  /**
   * Settings Berth accepts but does not implement, as dotted paths (`storage.cache`), and
   * `REGISTRY_*` variables naming no section, for a warning at start-up.
   */
  ignored: string[];
}

/** How {@linkcode loadConfig} finds its inputs (the process's own by default). */
export interface LoadOptions {
  /** Command-line arguments: `[serve] [<path>]` or `[serve] --config <path>`. */
  args?: string[];
  /** Environment variables; default `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** File reader; default `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
}

type Env = Record<string, string | undefined>;

const MIB = 1024 * 1024;

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
  const { origins, skipped } = applyEnv(d, env, TOP_LEVEL);
  const r: Reader = new Reader(d, origins);
  const ignored = checkKeys(r);
  ignored.push(...skipped);
  const datadir = (r.text("berth.datadir") ?? "./data").replace(/(.)\/+$/, "$1");
  const config: Config = {
    log: {
      level: r.oneOf("log.level", ["debug", "info", "warn", "error"]) ?? "info",
      formatter: r.oneOf("log.formatter", ["json", "text", "logstash"]) === "text"
        ? "text"
        : "json",
      accesslog: { disabled: r.bool("log.accesslog.disabled") ?? false },
    },
    http: readHttp(r),
    storage: readStorage(r, env, datadir),
    berth: {
      datadir,
      metadata: readMetadata(r, datadir),
      manifests: { maxbytes: r.int("berth.manifests.maxbytes", 1) ?? 4 * MIB },
      uploads: {
        hashing: r.oneOf("berth.uploads.hashing", ["auto", "portable"]) ?? "auto",
        sessionttl: r.duration("berth.uploads.sessionttl") ?? 24 * 3600_000,
        lease: r.duration("berth.uploads.lease") ?? 15_000,
      },
      instanceid: r.text("berth.instanceid"),
      http: { server: r.oneOf("berth.http.server", ["auto", "berth", "deno"]) ?? "auto" },
    },
    ignored,
  };
  for (const key of RAW) {
    const value = r.get(key);
    if (value === undefined) continue;
    if (!isObject(value)) r.fail(key, `must be a mapping, got ${JSON.stringify(value)}`);
    config[key as "auth"] = value;
  }
  return config;
}

function readHttp(r: Reader): Config["http"] {
  if (r.get("http.tls") !== undefined) {
    r.fail(
      "http.tls",
      "is not supported: Berth does not terminate TLS; put a proxy in front of it " +
        "(or run it on a platform that terminates TLS)",
    );
  }
  const addr = r.str("http.addr") ?? ":5000";
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) > 65535) {
    r.fail("http.addr", `must be "host:port" or ":port", got "${addr}"`);
  }
  const host = r.str("http.host");
  return {
    addr,
    hostname: m[1] === "" ? "0.0.0.0" : m[1].replace(/^\[(.*)\]$/, "$1"),
    port: Number(m[2]),
    host: host === undefined ? undefined : baseUrl(r, host),
    secret: r.text("http.secret"),
    headers: readHeaders(r),
  };
}

/** The origin of `http.host`, which must be an http(s) URL with nothing after the host. */
function baseUrl(r: Reader, host: string): string {
  let url: URL | undefined;
  try {
    url = new URL(host);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return r.fail("http.host", `must be an http(s) URL, got "${host}"`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    return r.fail("http.host", `must be an http(s) URL without a path or query, got "${host}"`);
  }
  return url.origin;
}

function readHeaders(r: Reader): Record<string, string[]> {
  const raw = r.get("http.headers");
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    return r.fail("http.headers", `must be a mapping of header lists, got ${JSON.stringify(raw)}`);
  }
  const headers: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(raw)) {
    const setting = `http.headers.${name}`;
    if (!/^[!#$%&'*+.^`|~\w-]+$/.test(name)) r.fail(setting, `is not a header name`);
    // From the environment, distribution's `[a, b]` list notation; else one value.
    const list = Array.isArray(values)
      ? values
      : typeof values === "string" && r.origin(setting) && /^\[.*\]$/.test(values.trim())
      ? values.trim().slice(1, -1).split(",").map((v) => v.trim().replace(/^(["'])(.*)\1$/, "$2"))
      : [values];
    if (list.some((v) => typeof v !== "string")) {
      r.fail(setting, `must be a list of strings, got ${JSON.stringify(values)}`);
    }
    headers[name] = list as string[];
  }
  return headers;
}

function readStorage(r: Reader, env: Env, datadir: string): Config["storage"] {
  // Presence selects, even empty: distribution's files write `inmemory:` with no value.
  const drivers = (["filesystem", "inmemory", "s3"] as const).filter((k) => r.has(`storage.${k}`));
  if (drivers.length > 1) {
    r.fail(
      "storage",
      `must configure one driver, got ${drivers.join(" and ")} (REGISTRY_STORAGE picks one)`,
    );
  }
  if (r.bool("storage.maintenance.readonly.enabled")) {
    r.fail("storage.maintenance.readonly.enabled", "is not supported: Berth has no read-only mode");
  }
  const driver = drivers[0] ?? "filesystem";
  const purging = "storage.maintenance.uploadpurging";
  return {
    driver,
    filesystem: { rootdirectory: r.text("storage.filesystem.rootdirectory") ?? `${datadir}/blobs` },
    ...(driver === "s3" ? { s3: readS3(r, env) } : {}),
    delete: { enabled: r.bool("storage.delete.enabled") ?? true },
    redirect: { disable: r.bool("storage.redirect.disable") ?? true },
    maintenance: {
      uploadpurging: {
        enabled: r.bool(`${purging}.enabled`) ?? true,
        age: r.duration(`${purging}.age`) ?? 168 * 3600_000,
        interval: r.duration(`${purging}.interval`) ?? 24 * 3600_000,
        dryrun: r.bool(`${purging}.dryrun`) ?? false,
      },
    },
  };
}

function readS3(r: Reader, env: Env): S3Config {
  const s3 = (key: string) => `storage.s3.${key}`;
  const region = r.text(s3("region")) ?? r.fail(s3("region"), "is required for the s3 driver");
  const bucket = r.text(s3("bucket")) ?? r.fail(s3("bucket"), "is required for the s3 driver");
  const endpoint = r.text(s3("regionendpoint"));
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
    } catch { /* reported below */ }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      r.fail(s3("regionendpoint"), `must be an http(s) URL or a host, got "${endpoint}"`);
    }
  }
  // Keys come as a set: from the configuration, or else all from the AWS_* variables.
  let accesskey = r.text(s3("accesskey"));
  let secretkey = r.text(s3("secretkey"));
  let sessiontoken = r.text(s3("sessiontoken"));
  if (accesskey === undefined && secretkey === undefined) {
    accesskey = env.AWS_ACCESS_KEY_ID || undefined;
    secretkey = env.AWS_SECRET_ACCESS_KEY || undefined;
    sessiontoken ??= env.AWS_SESSION_TOKEN || undefined;
  }
  if ((accesskey === undefined) !== (secretkey === undefined)) {
    const missing = accesskey === undefined ? "accesskey" : "secretkey";
    r.fail(s3(missing), `is required with ${missing === "accesskey" ? "secretkey" : "accesskey"}`);
  }
  return {
    region,
    bucket,
    regionendpoint: endpoint,
    forcepathstyle: r.bool(s3("forcepathstyle")) ?? false,
    accesskey,
    secretkey,
    sessiontoken,
    rootdirectory: (r.str(s3("rootdirectory")) ?? "").replace(/^\/+|\/+$/g, ""),
    chunksize: r.int(s3("chunksize"), 5 * MIB, 5 * 1024 * MIB) ?? 10 * MIB,
    secure: r.bool(s3("secure")) ?? true,
  };
}

function readMetadata(r: Reader, datadir: string): Config["berth"]["metadata"] {
  const driver = r.oneOf("berth.metadata.driver", ["kv", "memory"]) ?? "kv";
  const path = r.text("berth.metadata.path");
  const url = r.text("berth.metadata.url");
  if (driver === "memory" && (path !== undefined || url !== undefined)) {
    r.fail("berth.metadata", `driver "memory" takes neither path nor url`);
  }
  if (path !== undefined && url !== undefined) {
    r.fail("berth.metadata", `takes path or url, not both (path "${path}", url "${url}")`);
  }
  if (url !== undefined && !/^https?:\/\/[^/?#]+/.test(url)) {
    r.fail("berth.metadata.url", `must be an http(s) KV Connect URL, got "${url}"`);
  }
  if (driver === "memory") return { driver };
  return url !== undefined ? { driver, url } : { driver, path: path ?? `${datadir}/metadata.kv` };
}
