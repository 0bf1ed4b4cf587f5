/**
 * @module
 * The `health:` section, in distribution's shape: a periodic check of the storage driver
 * (`storagedriver: {enabled, interval, threshold}`) and lists of `file`, `http` and `tcp`
 * checks. A check is unhealthy once it failed `threshold` times in a row (0 or 1: at the
 * first failure); a file check fails while its file exists (the way to take an instance
 * out of rotation by hand). `src/health/` runs them.
 */
import { isObject, type Reader } from "./reader.ts";
import { type Section, words } from "./section.ts";

/** What every check has. Durations are in milliseconds. */
export interface CheckTiming {
  /** Between two runs; default 10s. */
  interval: number;
  /** Consecutive failures before the check counts as failed; default 0 (the first). */
  threshold: number;
}

/** `health.file[]`: fails while `file` exists. */
export interface FileCheck extends CheckTiming {
  file: string;
}

/** `health.http[]`: a HEAD request to `uri` must answer `statuscode` within `timeout`. */
export interface HttpCheck extends CheckTiming {
  uri: string;
  headers: Record<string, string[]>;
  /** Default 200. */
  statuscode: number;
  /** Default: the interval. */
  timeout: number;
}

/** `health.tcp[]`: a TCP connection to `addr` (`host:port`) must open within `timeout`. */
export interface TcpCheck extends CheckTiming {
  addr: string;
  hostname: string;
  port: number;
  /** Default: the interval. */
  timeout: number;
}

/** The validated `health:` section. */
export interface HealthConfig {
  storagedriver: CheckTiming & { enabled: boolean };
  file: FileCheck[];
  http: HttpCheck[];
  tcp: TcpCheck[];
}

const DEFAULT_INTERVAL = 10_000;

/** The `health:` section; absent when the document has none. */
export const health: Section<"health", HealthConfig | undefined> = {
  key: "health",
  schema: {
    // `file`, `http` and `tcp` are lists of mappings, checked by the reader below.
    health: { keys: words("storagedriver file http tcp") },
    "health.storagedriver": { keys: words("enabled interval threshold") },
  },
  read(r) {
    if (r.get("health") === undefined) return undefined;
    return {
      storagedriver: {
        enabled: r.bool("health.storagedriver.enabled") ?? false,
        ...timing(r, "health.storagedriver"),
      },
      file: entries(r, "health.file", words("file interval threshold"), (at) => ({
        file: required(r, `${at}.file`),
        ...timing(r, at),
      })),
      http: entries(
        r,
        "health.http",
        words("uri headers statuscode timeout interval threshold"),
        (at) => {
          const uri = required(r, `${at}.uri`);
          if (!/^https?:\/\/[^/]/.test(uri)) {
            r.fail(`${at}.uri`, `must be an http(s) URL, got "${uri}"`);
          }
          const t = timing(r, at);
          return {
            uri,
            headers: headerLists(r, `${at}.headers`),
            statuscode: r.int(`${at}.statuscode`, 100, 599) ?? 200,
            timeout: r.duration(`${at}.timeout`) ?? t.interval,
            ...t,
          };
        },
      ),
      tcp: entries(r, "health.tcp", words("addr timeout interval threshold"), (at) => {
        const addr = required(r, `${at}.addr`);
        const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(addr);
        if (!m || Number(m[2]) > 65535) {
          return r.fail(`${at}.addr`, `must be "host:port", got "${addr}"`);
        }
        const t = timing(r, at);
        return {
          addr,
          hostname: m[1].replace(/^\[(.*)\]$/, "$1"),
          port: Number(m[2]),
          timeout: r.duration(`${at}.timeout`) ?? t.interval,
          ...t,
        };
      }),
    };
  },
};

function timing(r: Reader, at: string): CheckTiming {
  return {
    interval: r.duration(`${at}.interval`) ?? DEFAULT_INTERVAL,
    threshold: r.int(`${at}.threshold`, 0) ?? 0,
  };
}

function required(r: Reader, path: string): string {
  const value = r.text(path);
  if (value === undefined) return r.fail(path, "is required");
  return value;
}

/**
 * The mappings of the list at `path` (from the environment, `REGISTRY_HEALTH_TCP_0_ADDR`
 * builds the same list), each checked against `keys` and read by `read(<path>.<index>)`.
 */
function entries<T>(r: Reader, path: string, keys: string[], read: (at: string) => T): T[] {
  const raw = r.get(path);
  if (raw === undefined) return [];
  let items: [string, unknown][];
  if (Array.isArray(raw)) {
    items = raw.map((item, i) => [String(i), item]);
  } else if (isObject(raw) && Object.keys(raw).every((k) => /^\d+$/.test(k))) {
    // From the environment alone the list is a mapping with numeric keys.
    items = Object.keys(raw).sort((a, b) => Number(a) - Number(b)).map((k) => [k, raw[k]]);
  } else {
    return r.fail(path, `must be a list, got ${JSON.stringify(raw)}`);
  }
  return items.map(([index, item]) => {
    const at = `${path}.${index}`;
    if (!isObject(item)) return r.fail(at, `must be a mapping, got ${JSON.stringify(item)}`);
    for (const key of Object.keys(item)) {
      if (!keys.includes(key)) r.fail(`${at}.${key}`, "is not a known setting");
    }
    return read(at);
  });
}

function headerLists(r: Reader, path: string): Record<string, string[]> {
  const raw = r.get(path);
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    return r.fail(path, `must be a mapping of header lists, got ${JSON.stringify(raw)}`);
  }
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(raw)) {
    const list = Array.isArray(values) ? values : [values];
    if (list.some((v) => typeof v !== "string")) {
      r.fail(`${path}.${name}`, `must be a list of strings, got ${JSON.stringify(values)}`);
    }
    out[name] = list as string[];
  }
  return out;
}
