/**
 * @module
 * The `http:` section: where Berth listens, the external URL it names in `Location`
 * headers, the upload-state secret and extra response headers. TLS is refused: Berth is
 * meant to sit behind a proxy or a platform that terminates it.
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
}

/** The `http:` section. */
export const http: Section<"http", HttpConfig> = {
  key: "http",
  schema: {
    // `headers` is free-form: its keys are header names.
    http: {
      keys: words("addr host secret headers tls"),
      ignore: words("net prefix relativeurls draintimeout debug http2 h2c"),
    },
  },
  read: readHttp,
};

function readHttp(r: Reader): HttpConfig {
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
    headers: readHeaderLists(r, "http.headers"),
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
