/**
 * @module
 * Configuration: a YAML file in the shape of CNCF distribution's `config.yml` for the
 * parts that apply, `REGISTRY_*` environment overrides in distribution's naming, and
 * Berth-only settings under `berth:`. An invalid configuration throws
 * {@linkcode ConfigError} naming the setting; Berth never starts half-configured.
 */
import { applyEnv } from "./config_env.ts";
import { parseDuration } from "./duration.ts";

/** Log levels. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** distribution's `storage.s3` settings. */
export interface S3Config {
  region: string;
  bucket: string;
  regionendpoint?: string;
  forcepathstyle: boolean;
  accesskey?: string;
  secretkey?: string;
  sessiontoken?: string;
  rootdirectory: string;
  chunksize: number;
  secure: boolean;
}

/** The validated configuration. */
export interface Config {
  log: { level: LogLevel; formatter: "json" | "text"; accesslog: { disabled: boolean } };
  http: {
    addr: string;
    hostname: string;
    port: number;
    host?: string;
    secret?: string;
    headers: Record<string, string[]>;
  };
  storage: {
    driver: "filesystem" | "inmemory" | "s3";
    filesystem: { rootdirectory: string };
    s3?: S3Config;
    delete: { enabled: boolean };
    redirect: { disable: boolean };
    maintenance: {
      uploadpurging: { enabled: boolean; age: number; interval: number; dryrun: boolean };
    };
  };
  auth?: Record<string, unknown>;
  notifications?: Record<string, unknown>;
  proxy?: Record<string, unknown>;
  berth: {
    datadir: string;
    metadata: { driver: "kv" | "memory"; path?: string; url?: string };
    manifests: { maxbytes: number };
    uploads: { hashing: "auto" | "portable"; sessionttl: number; lease: number };
    instanceid?: string;
  };
  /** Keys of distribution's format that Berth accepts but does not implement (dotted). */
  ignored: string[];
}

/** An invalid setting. */
export class ConfigError extends Error {
  /** Dotted path of the setting, e.g. `http.addr`. */
  readonly setting: string;
  constructor(setting: string, message: string) {
    super(`Invalid configuration: ${setting} ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** How {@linkcode loadConfig} finds its inputs. */
export interface LoadOptions {
  args?: string[];
  env?: Record<string, string | undefined>;
  readTextFile?: (path: string) => Promise<string>;
}

const MIB = 1024 * 1024;
/** Top-level sections of distribution's format that Berth ignores. */
const IGNORED_TOP = [
  "version",
  "reporting",
  "redis",
  "health",
  "validation",
  "compatibility",
  "middleware",
  "catalog",
  "loglevel",
];
/** Sections kept raw for their own modules to validate. */
const RAW = ["auth", "notifications", "proxy"];

type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads the config file named by the arguments or the environment, then validates. */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const env = options.env ?? Deno.env.toObject();
  const path = configPath(options.args ?? [], env);
  let doc: unknown = {};
  if (path) {
    let text: string;
    try {
      text = await (options.readTextFile ?? Deno.readTextFile)(path);
    } catch (err) {
      throw new ConfigError("file", `"${path}" cannot be read: ${(err as Error).message}`);
    }
    // Loaded only when there is a file: a process configured from the environment alone
    // (the edge) never pays for the YAML parser.
    const { parse } = await import("yaml");
    try {
      doc = parse(text) ?? {};
    } catch (err) {
      throw new ConfigError("file", `"${path}" is not valid YAML: ${(err as Error).message}`);
    }
  }
  return buildConfig(doc, env);
}

/** `serve <path>`, `<path>`, `--config <path>`, or `REGISTRY_CONFIGURATION_PATH`. */
function configPath(args: string[], env: Record<string, string | undefined>): string | undefined {
  const rest = args[0] === "serve" ? args.slice(1) : args;
  const flag = rest.indexOf("--config");
  if (flag >= 0) {
    if (!rest[flag + 1]) throw new ConfigError("--config", "needs a file path");
    return rest[flag + 1];
  }
  return rest.find((a) => !a.startsWith("-")) ?? (env.REGISTRY_CONFIGURATION_PATH || undefined);
}

/** Builds a validated configuration from a parsed YAML document and the environment. */
export function buildConfig(doc: unknown, env: Record<string, string | undefined> = {}): Config {
  if (!isObject(doc)) throw new ConfigError("file", "must be a YAML mapping");
  const d = applyEnv(structuredClone(doc), env);
  const ignored: string[] = [];
  for (const key of Object.keys(d)) {
    if (IGNORED_TOP.includes(key)) {
      if (key !== "version") ignored.push(key);
    } else if (!["log", "http", "storage", "berth", ...RAW].includes(key)) {
      throw new ConfigError(key, "is not a known setting");
    }
  }
  const v = new Reader(d);
  v.known("log", ["level", "formatter", "fields", "hooks", "accesslog"]);
  v.known("log.accesslog", ["disabled"]);
  for (const key of ["fields", "hooks"]) {
    if (v.get(`log.${key}`) !== undefined) ignored.push(`log.${key}`);
  }
  const datadir = v.str("berth.datadir") ?? "./data";
  const config: Config = {
    log: {
      level: v.oneOf("log.level", ["debug", "info", "warn", "error"]) ?? "info",
      formatter: mapFormatter(v.str("log.formatter")),
      accesslog: { disabled: v.bool("log.accesslog.disabled") ?? false },
    },
    http: readHttp(v, ignored),
    storage: readStorage(v, env, datadir, ignored),
    berth: {
      datadir,
      metadata: readMetadata(v, datadir),
      manifests: { maxbytes: v.int("berth.manifests.maxbytes", 1) ?? 4 * MIB },
      uploads: {
        hashing: v.oneOf("berth.uploads.hashing", ["auto", "portable"]) ?? "auto",
        sessionttl: v.duration("berth.uploads.sessionttl") ?? 24 * 3600_000,
        lease: v.duration("berth.uploads.lease") ?? 15_000,
      },
      instanceid: v.str("berth.instanceid"),
    },
    ignored,
  };
  for (const key of RAW) {
    if (d[key] === undefined || d[key] === null) continue;
    if (!isObject(d[key])) throw new ConfigError(key, "must be a mapping");
    (config as unknown as Doc)[key] = d[key];
  }
  v.rejectUnknown(["log", "http", "storage", "berth"]);
  return config;
}

function mapFormatter(value: string | undefined): "json" | "text" {
  if (value === undefined || value === "json") return "json";
  if (value === "text" || value === "logstash") return "text";
  throw new ConfigError("log.formatter", `must be "json" or "text", got "${value}"`);
}

function readHttp(v: Reader, ignored: string[]): Config["http"] {
  const addr = v.str("http.addr") ?? ":5000";
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new ConfigError("http.addr", `must be "host:port" or ":port", got "${addr}"`);
  }
  const hostname = m[1] === "" ? "0.0.0.0" : m[1].replace(/^\[(.*)\]$/, "$1");
  const host = v.str("http.host");
  if (host !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(host);
    } catch { /* reported below */ }
    if (
      !url || !/^https?:$/.test(url.protocol) || (url.pathname !== "/" && url.pathname !== "") ||
      url.search
    ) {
      throw new ConfigError("http.host", `must be an http(s) URL without a path, got "${host}"`);
    }
  }
  if (v.get("http.tls") !== undefined) {
    throw new ConfigError(
      "http.tls",
      "is not supported: Berth does not terminate TLS; run it behind a proxy or a platform that does",
    );
  }
  for (const key of ["net", "prefix", "relativeurls", "draintimeout", "debug", "http2", "h2c"]) {
    if (v.get(`http.${key}`) !== undefined) ignored.push(`http.${key}`);
  }
  const headers: Record<string, string[]> = {};
  const raw = v.get("http.headers");
  if (raw !== undefined) {
    if (!isObject(raw)) throw new ConfigError("http.headers", "must be a mapping of header lists");
    for (const [name, values] of Object.entries(raw)) {
      const list = Array.isArray(values) ? values : [values];
      if (list.some((x) => typeof x !== "string")) {
        throw new ConfigError(`http.headers.${name}`, "must be a list of strings");
      }
      headers[name] = list as string[];
    }
  }
  v.known("http", [
    "addr",
    "host",
    "secret",
    "headers",
    "tls",
    "net",
    "prefix",
    "relativeurls",
    "draintimeout",
    "debug",
    "http2",
    "h2c",
  ]);
  return { addr, hostname, port, host, secret: v.str("http.secret"), headers };
}

function readStorage(
  v: Reader,
  env: Record<string, string | undefined>,
  datadir: string,
  ignored: string[],
): Config["storage"] {
  const drivers = ["filesystem", "inmemory", "s3"].filter((k) =>
    v.get(`storage.${k}`) !== undefined
  );
  if (drivers.length > 1) {
    throw new ConfigError("storage", `must configure one driver, got ${drivers.join(" and ")}`);
  }
  const driver = (drivers[0] ?? "filesystem") as Config["storage"]["driver"];
  for (const key of ["cache", "tag"]) {
    if (v.get(`storage.${key}`) !== undefined) ignored.push(`storage.${key}`);
  }
  const storage: Config["storage"] = {
    driver,
    filesystem: { rootdirectory: v.str("storage.filesystem.rootdirectory") ?? `${datadir}/blobs` },
    delete: { enabled: v.bool("storage.delete.enabled") ?? true },
    redirect: { disable: v.bool("storage.redirect.disable") ?? true },
    maintenance: {
      uploadpurging: {
        enabled: v.bool("storage.maintenance.uploadpurging.enabled") ?? true,
        age: v.duration("storage.maintenance.uploadpurging.age") ?? 168 * 3600_000,
        interval: v.duration("storage.maintenance.uploadpurging.interval") ?? 24 * 3600_000,
        dryrun: v.bool("storage.maintenance.uploadpurging.dryrun") ?? false,
      },
    },
  };
  if (driver === "s3") storage.s3 = readS3(v, env);
  v.known("storage", [
    "filesystem",
    "inmemory",
    "s3",
    "delete",
    "redirect",
    "maintenance",
    "cache",
    "tag",
  ]);
  v.known("storage.filesystem", ["rootdirectory", "maxthreads"]);
  v.known("storage.delete", ["enabled"]);
  v.known("storage.redirect", ["disable"]);
  v.known("storage.maintenance", ["uploadpurging", "readonly"]);
  v.known("storage.maintenance.uploadpurging", ["enabled", "age", "interval", "dryrun"]);
  return storage;
}

function readS3(v: Reader, env: Record<string, string | undefined>): S3Config {
  const region = v.str("storage.s3.region");
  const bucket = v.str("storage.s3.bucket");
  if (!region) throw new ConfigError("storage.s3.region", "is required");
  if (!bucket) throw new ConfigError("storage.s3.bucket", "is required");
  const chunksize = v.int("storage.s3.chunksize", 5 * MIB) ?? 10 * MIB;
  const endpoint = v.str("storage.s3.regionendpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new ConfigError("storage.s3.regionendpoint", `must be an http(s) URL, got "${endpoint}"`);
  }
  v.known("storage.s3", [
    "region",
    "bucket",
    "regionendpoint",
    "forcepathstyle",
    "accesskey",
    "secretkey",
    "sessiontoken",
    "rootdirectory",
    "chunksize",
    "secure",
    "v4auth",
    "encrypt",
    "keyid",
    "skipverify",
    "storageclass",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "useragent",
    "usedualstack",
    "objectacl",
    "loglevel",
  ]);
  return {
    region,
    bucket,
    regionendpoint: endpoint,
    forcepathstyle: v.bool("storage.s3.forcepathstyle") ?? false,
    accesskey: v.str("storage.s3.accesskey") ?? env.AWS_ACCESS_KEY_ID,
    secretkey: v.str("storage.s3.secretkey") ?? env.AWS_SECRET_ACCESS_KEY,
    sessiontoken: v.str("storage.s3.sessiontoken") ?? env.AWS_SESSION_TOKEN,
    rootdirectory: (v.str("storage.s3.rootdirectory") ?? "").replace(/^\/+|\/+$/g, ""),
    chunksize,
    secure: v.bool("storage.s3.secure") ?? true,
  };
}

function readMetadata(v: Reader, datadir: string): Config["berth"]["metadata"] {
  const driver = v.oneOf("berth.metadata.driver", ["kv", "memory"]) ?? "kv";
  const path = v.str("berth.metadata.path");
  const url = v.str("berth.metadata.url");
  if (driver === "memory" && (path || url)) {
    throw new ConfigError("berth.metadata", "driver memory takes neither path nor url");
  }
  if (path && url) throw new ConfigError("berth.metadata", "takes path or url, not both");
  if (url && !/^https?:\/\//.test(url)) {
    throw new ConfigError("berth.metadata.url", `must be an http(s) KV Connect URL, got "${url}"`);
  }
  v.known("berth", ["datadir", "metadata", "manifests", "uploads", "instanceid"]);
  v.known("berth.metadata", ["driver", "path", "url"]);
  v.known("berth.manifests", ["maxbytes"]);
  v.known("berth.uploads", ["hashing", "sessionttl", "lease"]);
  if (driver === "memory") return { driver };
  return url ? { driver, url } : { driver, path: path ?? `${datadir}/metadata.kv` };
}

/** Typed reads of dotted paths, recording which sections' keys are known. */
class Reader {
  readonly #known = new Map<string, string[]>();
  constructor(private readonly doc: Doc) {}

  get(path: string): unknown {
    let at: unknown = this.doc;
    for (const part of path.split(".")) {
      if (!isObject(at)) return undefined;
      at = at[part];
    }
    return at === null ? undefined : at;
  }
  str(path: string): string | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (typeof value !== "string") {
      throw new ConfigError(path, `must be a string, got ${JSON.stringify(value)}`);
    }
    return value;
  }
  bool(path: string): boolean | undefined {
    const value = this.get(path);
    if (value === undefined || typeof value === "boolean") return value as boolean | undefined;
    if (value === "true") return true;
    if (value === "false") return false;
    throw new ConfigError(path, `must be true or false, got ${JSON.stringify(value)}`);
  }
  int(path: string, min = 0): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min) {
      throw new ConfigError(
        path,
        `must be an integer of at least ${min}, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  }
  duration(path: string): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    const ms = typeof value === "string" ? parseDuration(value) : null;
    if (ms === null) {
      throw new ConfigError(
        path,
        `must be a duration such as "30s", "10m" or "24h", got ${JSON.stringify(value)}`,
      );
    }
    return ms;
  }
  oneOf<T extends string>(path: string, choices: readonly T[]): T | undefined {
    const value = this.str(path);
    if (value === undefined) return undefined;
    if (!choices.includes(value as T)) {
      throw new ConfigError(path, `must be one of ${choices.join(", ")}, got "${value}"`);
    }
    return value as T;
  }
  /** Declares the keys a section may hold. */
  known(section: string, keys: string[]): void {
    this.#known.set(section, keys);
  }
  /** Throws on keys no section declared (typos must not pass silently). */
  rejectUnknown(roots: string[]): void {
    const walk = (path: string) => {
      const value = this.get(path);
      const keys = this.#known.get(path);
      if (!isObject(value)) {
        if (value !== undefined && keys && keys.length) {
          throw new ConfigError(path, "must be a mapping");
        }
        return;
      }
      if (!keys) return;
      for (const key of Object.keys(value)) {
        const child = `${path}.${key}`;
        if (!keys.includes(key)) throw new ConfigError(child, "is not a known setting");
        walk(child);
      }
    };
    roots.forEach(walk);
  }
}
