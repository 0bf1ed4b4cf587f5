/**
 * @module
 * Retention (`berth.retention`): which policy applies to a repository and which of its
 * tags that policy keeps. Pure functions over the tags' push and pull times; the
 * collector deletes the rest (`mark.ts`).
 *
 * - The first policy whose `repositories` globs match applies. A repository no policy
 *   matches keeps every tag, and untagged manifests go as `berth.gc.deleteuntagged` says.
 * - Without `keeptags` a policy keeps every tag. With it, a tag is kept when at least one
 *   rule keeps it. A rule looks at the tags matching its `patterns` (whole-tag regular
 *   expressions; every tag without them); with no criterion it keeps them all, otherwise
 *   those meeting at least one criterion: among the `mostrecentlypushedcount` (or
 *   `mostrecentlypulledcount`) most recently pushed (pulled) of them, pushed (pulled)
 *   within `pushedwithin` (`pulledwithin`).
 * - A tag's push time is when it last moved; its pull time the latest pull of the tag or
 *   of the manifest it names (clients pinning digests keep their tags).
 */
import { compileGlob } from "../auth/glob.ts";
import type { KeepTagsRule, RetentionConfig } from "../config/gc.ts";

/** A tag as retention sees it. */
export interface TagInfo {
  tag: string;
  /** When the tag last moved (ms since the epoch). */
  pushed: number;
  /** When it (or its manifest) was last pulled; null when never, as far as is recorded. */
  pulled: number | null;
}

/** What applies to one repository. */
export interface RepositoryPolicy {
  deleteUntagged: boolean;
  deleteReferrers: boolean;
  /** Absent: every tag is kept. */
  keepTags?: KeepTagsRule[];
  /** Which policy (index in `berth.retention.policies`), or null for none. */
  index: number | null;
}

/** Policies with their globs compiled once. */
export class Retention {
  readonly #policies: { globs: RegExp[]; policy: RetentionConfig["policies"][number] }[];

  constructor(
    readonly config: RetentionConfig | undefined,
    private readonly deleteUntagged: boolean,
  ) {
    this.#policies = (config?.policies ?? []).map((policy) => ({
      globs: policy.repositories.map(compileGlob),
      policy,
    }));
  }

  /** True when some policy looks at pull times (so they are worth recording). */
  get usesPulls(): boolean {
    return this.#policies.some(({ policy }) =>
      policy.keeptags?.some((r) =>
        r.pulledwithin !== undefined || r.mostrecentlypulledcount !== undefined
      )
    );
  }

  /** The policy of `repo`. */
  policyFor(repo: string): RepositoryPolicy {
    const index = this.#policies.findIndex(({ globs }) => globs.some((g) => g.test(repo)));
    if (index < 0) {
      return { deleteUntagged: this.deleteUntagged, deleteReferrers: false, index: null };
    }
    const { policy } = this.#policies[index];
    const out: RepositoryPolicy = {
      deleteUntagged: policy.deleteuntagged ?? this.deleteUntagged,
      deleteReferrers: policy.deletereferrers,
      index,
    };
    if (policy.keeptags) out.keepTags = policy.keeptags;
    return out;
  }
}

/**
 * The tags `rules` keep, each with the reason (the first rule that keeps it); every tag
 * when `rules` is absent.
 */
export function keptTags(
  tags: readonly TagInfo[],
  rules: readonly KeepTagsRule[] | undefined,
  now: number,
): Map<string, string> {
  const kept = new Map<string, string>();
  if (!rules) {
    for (const t of tags) kept.set(t.tag, "no keeptags rule applies");
    return kept;
  }
  rules.forEach((rule, i) => {
    const name = `keeptags[${i}]`;
    const patterns = rule.patterns?.map((p) => new RegExp(`^(?:${p})$`));
    const matching = patterns ? tags.filter((t) => patterns.some((p) => p.test(t.tag))) : tags;
    const keep = (t: TagInfo, why: string) => {
      if (!kept.has(t.tag)) kept.set(t.tag, `${name}: ${why}`);
    };
    const criteria = rule.mostrecentlypushedcount !== undefined ||
      rule.mostrecentlypulledcount !== undefined || rule.pushedwithin !== undefined ||
      rule.pulledwithin !== undefined;
    if (!criteria) {
      for (const t of matching) keep(t, patterns ? "matches its patterns" : "keeps every tag");
      return;
    }
    if (rule.mostrecentlypushedcount !== undefined) {
      const recent = [...matching].sort((a, b) => b.pushed - a.pushed || cmp(a.tag, b.tag));
      for (const t of recent.slice(0, rule.mostrecentlypushedcount)) {
        keep(t, `among the ${rule.mostrecentlypushedcount} most recently pushed`);
      }
    }
    if (rule.mostrecentlypulledcount !== undefined) {
      const pulled = matching.filter((t) => t.pulled !== null)
        .sort((a, b) => b.pulled! - a.pulled! || cmp(a.tag, b.tag));
      for (const t of pulled.slice(0, rule.mostrecentlypulledcount)) {
        keep(t, `among the ${rule.mostrecentlypulledcount} most recently pulled`);
      }
    }
    if (rule.pushedwithin !== undefined) {
      for (const t of matching) {
        if (t.pushed > now - rule.pushedwithin) keep(t, "pushed within its pushedwithin");
      }
    }
    if (rule.pulledwithin !== undefined) {
      for (const t of matching) {
        if (t.pulled !== null && t.pulled > now - rule.pulledwithin) {
          keep(t, "pulled within its pulledwithin");
        }
      }
    }
  });
  return kept;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
