/**
 * @module
 * `berth.gc`, `berth.retention` and `berth.scrub`: garbage collection (online, on one
 * instance of a fleet at a time), what retention keeps, and re-hashing stored blobs.
 * The key sets and readers live here; `berth.ts` lists them in its schema and type.
 *
 * Retention follows zot's grammar in distribution-style lowercase keys:
 *
 * ```yaml
 * berth:
 *   retention:
 *     dryrun: false
 *     policies:
 *       - repositories: ["team/**"]
 *         deleteuntagged: true
 *         deletereferrers: false
 *         keeptags:
 *           - patterns: ["v.*", "latest"]
 *           - mostrecentlypushedcount: 10
 *           - pulledwithin: 720h
 * ```
 */
import { compileGlob } from "../auth/glob.ts";
import { parseDuration } from "./duration.ts";
import { isObject, type Reader } from "./reader.ts";
import { type KeySet, words } from "./section.ts";

/** `berth.gc`: the online collector. Durations in milliseconds. */
export interface GcConfig {
  /** Time between runs; default 24h. */
  interval: number;
  /** Nothing younger than this is removed; default 2h (`0s` allowed). */
  grace: number;
  /** Remove manifests no tag, index or subject keeps; default false. */
  deleteuntagged: boolean;
}

/** One rule of `keeptags`: tags matching `patterns` and meeting any criterion are kept. */
export interface KeepTagsRule {
  /** Regular expressions a whole tag must match; absent: every tag. */
  patterns?: string[];
  mostrecentlypushedcount?: number;
  mostrecentlypulledcount?: number;
  /** Milliseconds. */
  pushedwithin?: number;
  /** Milliseconds. */
  pulledwithin?: number;
}

/** One retention policy. */
export interface RetentionPolicy {
  /** Repository globs (`team/**`); default every repository. */
  repositories: string[];
  /** Default: `berth.gc.deleteuntagged`. */
  deleteuntagged?: boolean;
  /** Remove referrers whose subject is gone; default false. */
  deletereferrers: boolean;
  /** Which tags to keep; absent keeps every tag. */
  keeptags?: KeepTagsRule[];
}

/** `berth.retention`. */
export interface RetentionConfig {
  /** Report what retention would remove without removing it; default false. */
  dryrun: boolean;
  /** The first policy whose `repositories` match applies; none: keep every tag. */
  policies: RetentionPolicy[];
}

/** `berth.scrub`: the optional re-hashing job. */
export interface ScrubConfig {
  /** Time between runs; default 168h. */
  interval: number;
}

/** Key sets of the three mappings, for `berth.ts`'s schema. */
export const GC_SCHEMA: Record<string, KeySet> = {
  "berth.gc": { keys: words("interval grace deleteuntagged") },
  "berth.retention": { keys: words("dryrun policies") },
  "berth.scrub": { keys: words("interval") },
};

/** Reads `berth.gc`, or undefined when absent. */
export function readGc(r: Reader): GcConfig | undefined {
  if (!r.has("berth.gc")) return undefined;
  r.keys("berth.gc");
  return {
    interval: r.duration("berth.gc.interval") ?? 24 * 3600_000,
    grace: graceOf(r, "berth.gc.grace") ?? 2 * 3600_000,
    deleteuntagged: r.bool("berth.gc.deleteuntagged") ?? false,
  };
}

/** Reads `berth.scrub`, or undefined when absent. */
export function readScrub(r: Reader): ScrubConfig | undefined {
  if (!r.has("berth.scrub")) return undefined;
  r.keys("berth.scrub");
  return { interval: r.duration("berth.scrub.interval") ?? 168 * 3600_000 };
}

const POLICY_KEYS = words("repositories deleteuntagged deletereferrers keeptags");
const RULE_KEYS = words(
  "patterns mostrecentlypushedcount mostrecentlypulledcount pushedwithin pulledwithin",
);

/** Reads `berth.retention`, or undefined when absent. */
export function readRetention(r: Reader): RetentionConfig | undefined {
  if (!r.has("berth.retention")) return undefined;
  r.keys("berth.retention");
  const list = r.get("berth.retention.policies") ?? [];
  if (!Array.isArray(list)) {
    r.fail("berth.retention.policies", `must be a list, got ${JSON.stringify(list)}`);
  }
  return {
    dryrun: r.bool("berth.retention.dryrun") ?? false,
    policies: list.map((p, i) => readPolicy(r, `berth.retention.policies[${i}]`, p)),
  };
}

function readPolicy(r: Reader, path: string, value: unknown): RetentionPolicy {
  const doc = mapping(r, path, value, POLICY_KEYS);
  const repositories = strings(r, `${path}.repositories`, doc.repositories) ?? ["**"];
  for (const glob of repositories) {
    try {
      compileGlob(glob);
    } catch (err) {
      r.fail(`${path}.repositories`, (err as Error).message);
    }
  }
  const policy: RetentionPolicy = {
    repositories,
    deletereferrers: bool(r, `${path}.deletereferrers`, doc.deletereferrers) ?? false,
  };
  const untagged = bool(r, `${path}.deleteuntagged`, doc.deleteuntagged);
  if (untagged !== undefined) policy.deleteuntagged = untagged;
  if (doc.keeptags !== undefined && doc.keeptags !== null) {
    if (!Array.isArray(doc.keeptags)) {
      r.fail(`${path}.keeptags`, `must be a list, got ${JSON.stringify(doc.keeptags)}`);
    }
    policy.keeptags = doc.keeptags.map((rule, i) => readRule(r, `${path}.keeptags[${i}]`, rule));
  }
  return policy;
}

function readRule(r: Reader, path: string, value: unknown): KeepTagsRule {
  const doc = mapping(r, path, value, RULE_KEYS);
  const rule: KeepTagsRule = {};
  const patterns = strings(r, `${path}.patterns`, doc.patterns);
  if (patterns) {
    for (const p of patterns) {
      try {
        new RegExp(`^(?:${p})$`);
      } catch {
        r.fail(`${path}.patterns`, `holds "${p}", which is not a regular expression`);
      }
    }
    rule.patterns = patterns;
  }
  for (const key of ["mostrecentlypushedcount", "mostrecentlypulledcount"] as const) {
    const n = doc[key];
    if (n === undefined || n === null) continue;
    const count = typeof n === "string" && /^\d+$/.test(n) ? Number(n) : n;
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 0) {
      r.fail(`${path}.${key}`, `must be a whole number of at least 0, got ${JSON.stringify(n)}`);
    }
    rule[key] = count;
  }
  for (const key of ["pushedwithin", "pulledwithin"] as const) {
    const d = doc[key];
    if (d === undefined || d === null) continue;
    const ms = typeof d === "string" ? parseDuration(d) : null;
    if (ms === null || ms <= 0) {
      r.fail(
        `${path}.${key}`,
        `must be a positive duration such as "720h", got ${JSON.stringify(d)}`,
      );
    }
    rule[key] = ms;
  }
  return rule;
}

/** A duration of at least zero (`0s` turns the grace off). */
function graceOf(r: Reader, path: string): number | undefined {
  const value = r.get(path);
  if (value === undefined) return undefined;
  const ms = typeof value === "string" ? parseDuration(value) : null;
  if (ms === null) {
    r.fail(path, `must be a duration such as "2h" or "0s", got ${JSON.stringify(value)}`);
  }
  return ms;
}

function mapping(
  r: Reader,
  path: string,
  value: unknown,
  keys: readonly string[],
): Record<string, unknown> {
  if (!isObject(value)) r.fail(path, `must be a mapping, got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) r.fail(`${path}.${key}`, "is not a known setting");
  }
  return value;
}

function strings(r: Reader, path: string, value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string")) {
    r.fail(path, `must be a non-empty list of strings, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bool(r: Reader, path: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null || typeof value === "boolean") {
    return value ?? undefined;
  }
  if (value === "true" || value === "false") return value === "true";
  return r.fail(path, `must be true or false, got ${JSON.stringify(value)}`);
}
