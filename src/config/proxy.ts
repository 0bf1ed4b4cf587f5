/**
 * @module
 * The pull-through cache's settings, in two shapes:
 *
 * - `proxy:`, distribution's section unchanged: the whole registry mirrors one upstream
 *   (`remoteurl`, `username`, `password`, `ttl`; also `REGISTRY_PROXY_*`), and pushes,
 *   deletes and mounts are refused;
 * - `berth.mirrors:`, Berth's list: hosted repositories plus any number of mirrors, each
 *   under its own repository-name prefix (`docker.io/<path>` mirrors `<path>` upstream).
 *
 * Both read one entry the same way ({@linkcode MirrorConfig}). Berth adds `revalidate`
 * (how long a tag is served without asking the upstream) and `timeout` (how long an
 * upstream may take to answer or to send its next bytes) to both shapes.
 */
import { parseDuration } from "./duration.ts";
import { isObject, Reader } from "./reader.ts";
import { type Section, words } from "./section.ts";

/** One upstream registry mirrored under a prefix. Durations are in milliseconds. */
export interface MirrorConfig {
  /**
   * Repository names under this prefix are mirrored (`docker.io` covers `docker.io/x/y`);
   * `""` for `proxy:`, where every name is.
   */
  prefix: string;
  /** The upstream's origin (`https://registry-1.docker.io`), without a trailing slash. */
  remoteurl: string;
  username?: string;
  password?: string;
  /** Pulled-through content expires this long after its last pull; 0 never. Default 168h. */
  ttl: number;
  /** A tag checked upstream less than this long ago is served as it is; default 5m. */
  revalidate: number;
  /** Longest wait for the upstream's answer or its next bytes; default 30s. */
  timeout: number;
}

/** The validated `proxy:` section (absent when not configured). */
export type ProxyConfig = MirrorConfig | undefined;

const HOUR = 3_600_000;
const DEFAULTS = { ttl: 168 * HOUR, revalidate: 5 * 60_000, timeout: 30_000 };
/** The repository-name grammar of the OCI specification (a prefix is a name). */
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
/** Keys of one mirror, beyond berth.mirrors' `prefix`. */
const ENTRY_KEYS = words("remoteurl username password ttl revalidate timeout");

/** `proxy:`: the whole registry is a pull-through cache of `remoteurl`. */
export const proxy: Section<"proxy", ProxyConfig> = {
  key: "proxy",
  schema: {
    proxy: {
      keys: ENTRY_KEYS,
      refuse: {
        exec: "is not supported: give the upstream's username and password instead",
      },
    },
  },
  read(r) {
    if (r.get("proxy") === undefined) return undefined;
    const mirrors = r.get("berth.mirrors");
    if (mirrors !== undefined && (Array.isArray(mirrors) ? mirrors.length : 1) > 0) {
      r.fail(
        "proxy",
        "and berth.mirrors exclude each other: proxy makes the whole registry one mirror; " +
          "use berth.mirrors alone for hosted repositories next to mirrors",
      );
    }
    return readEntry(r, "proxy", "");
  },
};

/** Reads `berth.mirrors` (a list, or from the environment a mapping keyed 0, 1, ...). */
export function readMirrors(r: Reader): MirrorConfig[] {
  const raw = r.get("berth.mirrors");
  if (raw === undefined) return [];
  const entries = Array.isArray(raw)
    ? raw
    : isObject(raw) && Object.keys(raw).every((k) => /^\d+$/.test(k))
    ? Object.keys(raw).sort((a, b) => Number(a) - Number(b)).map((k) => raw[k])
    : r.fail("berth.mirrors", `must be a list of mirrors, got ${JSON.stringify(raw)}`);
  // A reader over the entries keyed by index, so settings are named `berth.mirrors.<i>.<key>`
  // and keep the variable that set them.
  const doc = { berth: { mirrors: Object.fromEntries(entries.map((e, i) => [String(i), e])) } };
  const origins = new Map<string, string>();
  const sub = new Reader(doc, origins);
  const mirrors: MirrorConfig[] = [];
  entries.forEach((entry, i) => {
    const path = `berth.mirrors.${i}`;
    if (!isObject(entry)) r.fail(path, `must be a mapping, got ${JSON.stringify(entry)}`);
    for (const key of Object.keys(entry)) {
      const origin = r.origin(`${path}.${key}`);
      if (origin) origins.set(`${path}.${key}`, origin);
    }
    for (const key of Object.keys(entry)) {
      if (key !== "prefix" && !ENTRY_KEYS.includes(key)) {
        sub.fail(`${path}.${key}`, "is not a known setting");
      }
    }
    const prefix = sub.text(`${path}.prefix`) ??
      sub.fail(`${path}.prefix`, "is required: the repository names the mirror serves");
    if (!NAME.test(prefix) || prefix.length > 200) {
      sub.fail(
        `${path}.prefix`,
        `must be a repository name such as "docker.io" or "mirrors/quay", got "${prefix}"`,
      );
    }
    const clash = mirrors.find((m) =>
      m.prefix === prefix || prefix.startsWith(`${m.prefix}/`) || m.prefix.startsWith(`${prefix}/`)
    );
    if (clash) {
      sub.fail(
        `${path}.prefix`,
        `"${prefix}" overlaps the prefix "${clash.prefix}" of another mirror`,
      );
    }
    mirrors.push(readEntry(sub, path, prefix));
  });
  return mirrors;
}

function readEntry(r: Reader, path: string, prefix: string): MirrorConfig {
  const remoteurl = r.text(`${path}.remoteurl`) ??
    r.fail(`${path}.remoteurl`, "is required: the URL of the registry to mirror");
  const out: MirrorConfig = {
    prefix,
    remoteurl: origin(r, `${path}.remoteurl`, remoteurl),
    ttl: optionalDuration(r, `${path}.ttl`) ?? DEFAULTS.ttl,
    revalidate: optionalDuration(r, `${path}.revalidate`) ?? DEFAULTS.revalidate,
    timeout: r.duration(`${path}.timeout`) ?? DEFAULTS.timeout,
  };
  const username = r.text(`${path}.username`);
  const password = r.str(`${path}.password`);
  if ((username === undefined) !== (password === undefined)) {
    r.fail(path, "needs both username and password, or neither");
  }
  if (username !== undefined) {
    out.username = username;
    out.password = password;
  }
  return out;
}

/** A duration where `0` means "never" (ttl) or "every time" (revalidate). */
function optionalDuration(r: Reader, path: string): number | undefined {
  const value = r.get(path);
  if (value === 0 || (typeof value === "string" && parseDuration(value) === 0) || value === "0") {
    return 0;
  }
  return r.duration(path);
}

/** The origin of an http(s) URL with nothing after the host. */
function origin(r: Reader, path: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch { /* reported below */ }
  if (
    !url || (url.protocol !== "http:" && url.protocol !== "https:") ||
    url.pathname.replace(/\/+$/, "") !== "" || url.search || url.hash || url.username ||
    url.password
  ) {
    return r.fail(
      path,
      `must be an http(s) URL of a registry without a path, such as ` +
        `"https://registry-1.docker.io", got "${value}"`,
    );
  }
  return url.origin;
}
