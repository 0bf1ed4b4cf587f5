/**
 * @module
 * The `http:` section: where Berth listens (with TLS and client certificates when
 * `http.tls` is set), the external URL it names in `Location` headers, the upload-state
 * secret, extra response headers, how long a shutdown waits for requests in flight
 * (`draintimeout`), and distribution's debug server (`debug.addr`, with Prometheus
 * metrics under `debug.prometheus`).
 */
import { isObject, type Reader } from "./reader.ts";
import { type Section, words } from "./section.ts";

/** The validated `http:` section. */
export interface HttpConfig {
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
  /**
   * How long a shutdown (SIGTERM) lets requests in flight finish before their connections
   * are closed (milliseconds); default 30s.
   */
  draintimeout: number;
  /** TLS on the public port (HTTP/2 and HTTP/1.1); absent: plain HTTP. */
  tls?: TlsConfig;
  /** distribution's debug server: health and metrics, on an address of its own. */
  debug?: DebugConfig;
}

/** `http.tls`: file paths, read at start-up. */
export interface TlsConfig {
  /** PEM certificate chain. */
  certificate: string;
  /** PEM private key. */
  key: string;
  /**
   * PEM files of the CAs that sign client certificates. When given, every client must
   * present a certificate one of them signed (distribution's `require-and-verify-client-cert`).
   */
  clientcas: string[];
}

/** `http.debug`. */
export interface DebugConfig {
  /** `host:port` or `:port`, as `http.addr`. */
  addr: string;
  hostname: string;
  port: number;
  /** Prometheus metrics at `path` (default `/metrics`) when enabled. */
  prometheus: { enabled: boolean; path: string };
}

/** The `http:` section. */
export const http: Section<"http", HttpConfig> = {
  key: "http",
  schema: {
    // `headers` is free-form: its keys are header names.
    http: {
      keys: words("addr host secret headers tls draintimeout debug"),
      ignore: words("net prefix relativeurls http2 h2c"),
    },
    "http.tls": {
      keys: words("certificate key clientcas clientauth minimumtls"),
      ignore: words("ciphersuites"),
      refuse: {
        letsencrypt: "is not supported: give a certificate and key (from certbot, for example)",
      },
    },
    "http.debug": { keys: words("addr prometheus") },
    "http.debug.prometheus": { keys: words("enabled path") },
  },
  read: readHttp,
};

function readHttp(r: Reader): HttpConfig {
  const addr = r.str("http.addr") ?? ":5000";
  const host = r.str("http.host");
  const config: HttpConfig = {
    addr,
    ...listenAddr(r, "http.addr", addr),
    host: host === undefined ? undefined : baseUrl(r, host),
    secret: r.text("http.secret"),
    headers: readHeaderLists(r, "http.headers"),
    draintimeout: r.duration("http.draintimeout") ?? 30_000,
  };
  const tls = readTls(r);
  if (tls) config.tls = tls;
  const debug = readDebug(r);
  if (debug) config.debug = debug;
  return config;
}

/** Hostname and port of a `host:port` or `:port` setting. */
function listenAddr(r: Reader, setting: string, addr: string): { hostname: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) > 65535) {
    r.fail(setting, `must be "host:port" or ":port", got "${addr}"`);
  }
  return {
    hostname: m[1] === "" ? "0.0.0.0" : m[1].replace(/^\[(.*)\]$/, "$1"),
    port: Number(m[2]),
  };
}

function readTls(r: Reader): TlsConfig | undefined {
  if (r.get("http.tls") === undefined) return undefined;
  const certificate = r.text("http.tls.certificate");
  const key = r.text("http.tls.key");
  if (certificate === undefined || key === undefined) {
    r.fail("http.tls", "needs both certificate and key (paths of PEM files)");
  }
  const clientauth = r.str("http.tls.clientauth");
  if (clientauth !== undefined && clientauth !== "require-and-verify-client-cert") {
    r.fail(
      "http.tls.clientauth",
      `must be "require-and-verify-client-cert" (the only mode Berth offers), got "${clientauth}"`,
    );
  }
  const minimum = r.str("http.tls.minimumtls");
  if (minimum !== undefined && minimum !== "tls1.2") {
    r.fail(
      "http.tls.minimumtls",
      `must be "tls1.2" (TLS 1.2 and 1.3 are offered), got "${minimum}"`,
    );
  }
  return { certificate, key, clientcas: pathList(r, "http.tls.clientcas") };
}

/** A list of non-empty strings (a single string is a list of one). */
function pathList(r: Reader, setting: string): string[] {
  const raw = r.get(setting);
  if (raw === undefined) return [];
  // From the environment: `[a.pem, b.pem]`, or one path, or numbered variables.
  const list = typeof raw === "string" && r.origin(setting)
    ? raw.replace(/^\[(.*)\]$/, "$1").split(",").map((v) => v.trim()).filter(Boolean)
    : Array.isArray(raw)
    ? raw
    : isObject(raw) && Object.keys(raw).every((k) => /^\d+$/.test(k))
    ? Object.keys(raw).sort((a, b) => Number(a) - Number(b)).map((k) => raw[k])
    : [raw];
  if (list.some((v) => typeof v !== "string" || v === "")) {
    r.fail(setting, `must be a list of file paths, got ${JSON.stringify(raw)}`);
  }
  return list as string[];
}

function readDebug(r: Reader): DebugConfig | undefined {
  const addr = r.text("http.debug.addr");
  const enabled = r.bool("http.debug.prometheus.enabled") ?? false;
  const path = r.text("http.debug.prometheus.path") ?? "/metrics";
  if (!path.startsWith("/")) {
    r.fail("http.debug.prometheus.path", `must start with "/", got "${path}"`);
  }
  if (addr === undefined) {
    if (enabled) r.fail("http.debug.prometheus", "needs http.debug.addr: metrics are served there");
    return undefined;
  }
  return { addr, ...listenAddr(r, "http.debug.addr", addr), prometheus: { enabled, path } };
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

/**
 * A mapping of header names to lists of values at `path` (`http.headers`, an endpoint's
 * `headers`); from the environment, a list is written `[a, b]`.
 */
export function readHeaderLists(r: Reader, path: string): Record<string, string[]> {
  const raw = r.get(path);
  if (raw === undefined) return {};
  if (!isObject(raw)) {
    return r.fail(path, `must be a mapping of header lists, got ${JSON.stringify(raw)}`);
  }
  const headers: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(raw)) {
    const setting = `${path}.${name}`;
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
