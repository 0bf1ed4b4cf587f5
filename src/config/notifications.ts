/**
 * @module
 * The `notifications:` section in distribution's shape: `events.includereferences` and a
 * list of webhook `endpoints`, each with distribution's keys (`name`, `disabled`, `url`,
 * `headers`, `timeout`, `threshold`, `backoff`, `ignoredmediatypes`, `ignore`) and
 * Berth's own optional ones (`format`, `secret`, `repositories`, `maxage`). Delivery
 * itself lives in `src/notifications/`.
 *
 * Endpoints are a list, so their keys are checked here rather than by the schema; a
 * setting of the second endpoint is named `notifications.endpoints.1.url`, as the
 * environment addresses it (`REGISTRY_NOTIFICATIONS_ENDPOINTS_1_URL`). Variables alone
 * (no file) build the list as a mapping with numeric keys, which reads the same.
 */
import { compileGlob } from "../auth/glob.ts";
import { readHeaderLists } from "./http.ts";
import { isObject, type Reader } from "./reader.ts";
import { type Section, words } from "./section.ts";

/** The actions of distribution's events. */
export const NOTIFICATION_ACTIONS = ["push", "pull", "mount", "delete"] as const;
/** One action of distribution's events. */
export type NotificationAction = typeof NOTIFICATION_ACTIONS[number];

/** One webhook endpoint. Durations are in milliseconds. */
export interface EndpointConfig {
  /** Names the endpoint in logs, statistics and the metadata store; unique. */
  name: string;
  /** A disabled endpoint records and delivers nothing (what it holds stays queued). */
  disabled: boolean;
  /** Where envelopes are POSTed (http or https). */
  url: string;
  /** Headers added to every request. */
  headers: Record<string, string[]>;
  /** One request's time limit; default 1s (distribution's). */
  timeout: number;
  /** Failures in a row before backing off; default 10 (distribution's). */
  threshold: number;
  /** The first wait after `threshold` failures; it doubles, with jitter, up to 8x. Default 1s. */
  backoff: number;
  /** Target media types not sent: `ignoredmediatypes` and `ignore.mediatypes` together. */
  ignoredMediaTypes: string[];
  /** Actions not sent (`ignore.actions`). */
  ignoredActions: NotificationAction[];
  /** `distribution` (default: its envelope) or `cloudevents` (CloudEvents 1.0, batched). */
  format: "distribution" | "cloudevents";
  /** Signs each body with HMAC-SHA256 (header `Berth-Signature`), when set. */
  secret?: string;
  /** Only events of repositories matching one of these globs, when set. */
  repositories?: string[];
  /** Events still undelivered after this long go to the endpoint's dead letters. */
  maxage?: number;
}

/** The validated `notifications:` section. */
export interface NotificationsConfig {
  /** Manifest push and pull events list the descriptors the manifest references. */
  includeReferences: boolean;
  endpoints: EndpointConfig[];
}

/**
 * Endpoints that may be enabled at once. A manifest pushed with 50 tags is 50 events, each
 * queued for every endpoint in the push's commit, which holds at most 1,000 mutations.
 */
export const MAX_ENDPOINTS = 10;

const ENDPOINT_KEYS = words(
  "name disabled url headers timeout threshold backoff ignoredmediatypes ignore " +
    "format secret repositories maxage",
);
const IGNORE_KEYS = words("mediatypes actions");

/** The `notifications:` section; undefined when absent. */
export const notifications: Section<"notifications", NotificationsConfig | undefined> = {
  key: "notifications",
  schema: {
    // `endpoints` is a list: its entries are checked by `read`.
    notifications: { keys: words("events endpoints") },
    "notifications.events": { keys: words("includereferences") },
  },
  read(r) {
    if (r.get("notifications") === undefined) return undefined;
    const endpoints = endpointPaths(r).map((path) => readEndpoint(r, path));
    const seen = new Set<string>();
    endpoints.forEach((e, i) => {
      if (seen.has(e.name)) {
        r.fail(`notifications.endpoints.${i}.name`, `"${e.name}" names two endpoints`);
      }
      seen.add(e.name);
    });
    if (endpoints.filter((e) => !e.disabled).length > MAX_ENDPOINTS) {
      r.fail(
        "notifications.endpoints",
        `may enable at most ${MAX_ENDPOINTS} endpoints (each change's commit carries one ` +
          `record per endpoint), got ${endpoints.filter((e) => !e.disabled).length}`,
      );
    }
    return {
      includeReferences: r.bool("notifications.events.includereferences") ?? false,
      endpoints,
    };
  },
};

/** Paths of the endpoints: a list, or (from variables alone) a mapping `0`, `1`, ... */
function endpointPaths(r: Reader): string[] {
  const path = "notifications.endpoints";
  const raw = r.get(path);
  if (raw === undefined) return [];
  const count = Array.isArray(raw)
    ? raw.length
    : isObject(raw) && Object.keys(raw).every((k, i) => k === String(i))
    ? Object.keys(raw).length
    : -1;
  if (count < 0) r.fail(path, `must be a list of endpoints, got ${JSON.stringify(raw)}`);
  return Array.from({ length: count }, (_, i) => `${path}.${i}`);
}

function readEndpoint(r: Reader, path: string): EndpointConfig {
  for (const key of r.keys(path) ?? r.fail(path, "must be a mapping, got nothing")) {
    if (!ENDPOINT_KEYS.includes(key)) r.fail(`${path}.${key}`, "is not a known setting");
  }
  for (const key of r.keys(`${path}.ignore`) ?? []) {
    if (!IGNORE_KEYS.includes(key)) r.fail(`${path}.ignore.${key}`, "is not a known setting");
  }
  const name = r.text(`${path}.name`) ?? r.fail(`${path}.name`, "is required");
  if (name.length > 200) r.fail(`${path}.name`, `must be at most 200 characters, got "${name}"`);
  const url = r.text(`${path}.url`) ?? r.fail(`${path}.url`, "is required");
  if (!/^https?:\/\/[^/?#]+/.test(url) || !URL.canParse(url)) {
    r.fail(`${path}.url`, `must be an http(s) URL, got "${url}"`);
  }
  if (new URL(url).username || new URL(url).password) {
    r.fail(`${path}.url`, "must not hold credentials: send them in headers (Authorization)");
  }
  const actions = stringList(r, `${path}.ignore.actions`) ?? [];
  for (const [i, action] of actions.entries()) {
    if (!(NOTIFICATION_ACTIONS as readonly string[]).includes(action)) {
      r.fail(
        `${path}.ignore.actions.${i}`,
        `must be one of ${NOTIFICATION_ACTIONS.join(", ")}, got "${action}"`,
      );
    }
  }
  const repositories = stringList(r, `${path}.repositories`);
  for (const [i, pattern] of (repositories ?? []).entries()) {
    try {
      compileGlob(pattern);
    } catch {
      r.fail(
        `${path}.repositories.${i}`,
        `must be a repository glob such as "team/**" (segments of a-z 0-9 . _ - * ** ` +
          `between slashes), got "${pattern}"`,
      );
    }
  }
  const secret = r.text(`${path}.secret`);
  const maxage = r.duration(`${path}.maxage`);
  return {
    name,
    disabled: r.bool(`${path}.disabled`) ?? false,
    url,
    headers: readHeaderLists(r, `${path}.headers`),
    timeout: r.duration(`${path}.timeout`) ?? 1000,
    // distribution reads 0 as "the default".
    threshold: r.int(`${path}.threshold`, 0) || 10,
    backoff: r.duration(`${path}.backoff`) ?? 1000,
    ignoredMediaTypes: [
      ...stringList(r, `${path}.ignoredmediatypes`) ?? [],
      ...stringList(r, `${path}.ignore.mediatypes`) ?? [],
    ],
    ignoredActions: actions as NotificationAction[],
    format: r.oneOf(`${path}.format`, ["distribution", "cloudevents"]) ?? "distribution",
    ...(secret !== undefined ? { secret } : {}),
    ...(repositories !== undefined ? { repositories } : {}),
    ...(maxage !== undefined ? { maxage } : {}),
  };
}

/**
 * A list of strings; from the environment, `[a, b]` or a single value. An empty list
 * (`mediatypes: []`) reads as empty.
 */
function stringList(r: Reader, path: string): string[] | undefined {
  const raw = r.get(path);
  if (raw === undefined) return undefined;
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === "string" && r.origin(path)
    ? /^\[.*\]$/.test(raw.trim())
      ? raw.trim().slice(1, -1).split(",").map((v) => v.trim()).filter((v) => v !== "")
      : [raw]
    : null;
  if (!list || list.some((v) => typeof v !== "string" || v === "")) {
    return r.fail(path, `must be a list of non-empty strings, got ${JSON.stringify(raw)}`);
  }
  return list as string[];
}
