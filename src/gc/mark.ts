/**
 * @module
 * Marking one repository: from a snapshot of its records (`repository.ts`), which tags
 * retention removes, which manifests are live and which layer links nothing live
 * references. Pure: no store, no clock but `now`.
 *
 * Live are: every manifest a kept tag names; untagged manifests unless `deleteuntagged`
 * (or retention) removes them; referrers (manifests with a `subject`) unless
 * `deletereferrers`; and, transitively, the children of a live index and the referrers
 * of a live manifest. Nothing younger than `grace` is removed (tags by when they moved,
 * manifests and links by when they were pushed). A live manifest's recorded references
 * (`refs`) keep its config and layers; a live manifest whose references were never
 * recorded keeps every link of the repository.
 */
import type { ManifestRefs } from "../registry/records.ts";
import type { Kept } from "./report.ts";
import { keptTags, type RepositoryPolicy, type TagInfo } from "./retention.ts";
import type { Plan, RepoSnapshot } from "./repository.ts";

/** Marks `snap` under `policy`. */
export function markRepository(
  snap: RepoSnapshot,
  policy: RepositoryPolicy,
  now: number,
  grace: number,
  explain: boolean,
): Plan {
  const repo = snap.name;
  const kept: Kept[] = [];
  const keep = (item: string, reason: string) => {
    if (explain) kept.push({ item, reason });
  };
  const young = (at: number | undefined) => (at ?? 0) > now - grace;

  // Tags: retention, but never one that moved within the grace.
  const infos: TagInfo[] = [...snap.tags].map(([tag, t]) => ({
    tag,
    pushed: t.value.updated ?? 0,
    pulled: latest(snap.pulledTags.get(tag), snap.pulled.get(t.value.digest)),
  }));
  const retained = keptTags(infos, policy.keepTags, now);
  const deadTags: string[] = [];
  const taggedBy = new Map<string, string>();
  for (const [tag, t] of snap.tags) {
    const reason = retained.get(tag) ??
      (young(t.value.updated) ? "moved within the grace period" : undefined);
    if (reason === undefined) {
      deadTags.push(tag);
      continue;
    }
    keep(`${repo}:${tag}`, reason);
    if (!taggedBy.has(t.value.digest)) taggedBy.set(t.value.digest, tag);
  }

  // Roots, then everything they reach through children and subjects.
  const referrersOf = new Map<string, string[]>();
  for (const [digest, m] of snap.manifests) {
    const subject = m.value.subject;
    if (subject) referrersOf.set(subject, [...referrersOf.get(subject) ?? [], digest]);
  }
  const live = new Map<string, string>();
  const queue: string[] = [];
  const reach = (digest: string, reason: string) => {
    if (live.has(digest) || !snap.manifests.has(digest)) return;
    live.set(digest, reason);
    queue.push(digest);
  };
  for (const [digest, m] of snap.manifests) {
    const tag = taggedBy.get(digest);
    if (tag !== undefined) reach(digest, `tagged ${tag}`);
    else if (young(m.value.created)) reach(digest, "pushed within the grace period");
    else if (m.value.subject) {
      if (!policy.deleteReferrers) reach(digest, "a referrer, and deletereferrers is off");
    } else if (!policy.deleteUntagged) reach(digest, "untagged, and deleteuntagged is off");
  }
  const referenced = new Set<string>();
  let unknownRefs = false;
  while (queue.length) {
    const digest = queue.pop()!;
    const refs: ManifestRefs | null = snap.manifests.get(digest)!.refs;
    if (!refs) unknownRefs = true;
    for (const blob of refs?.blobs ?? []) referenced.add(blob);
    for (const child of refs?.manifests ?? []) {
      referenced.add(child);
      reach(child, `a child of index ${digest}`);
    }
    for (const referrer of referrersOf.get(digest) ?? []) {
      reach(referrer, `a referrer of ${digest}`);
    }
  }
  const deadManifests: string[] = [];
  for (const digest of snap.manifests.keys()) {
    const reason = live.get(digest);
    if (reason === undefined) deadManifests.push(digest);
    else keep(`${repo}@${digest}`, reason);
  }

  // Layer links: kept while a live manifest references them, or within the grace.
  const deadLinks: string[] = [];
  for (const [digest, link] of snap.layers) {
    let reason: string | undefined;
    if (referenced.has(digest)) reason = "referenced by a live manifest";
    else if (unknownRefs) reason = "a live manifest's references were never recorded";
    else if (young(link.value.created)) reason = "linked within the grace period";
    if (reason === undefined) deadLinks.push(digest);
    else keep(`${repo} layer ${digest}`, reason);
  }

  return {
    tags: deadTags,
    manifests: deadManifests,
    links: deadLinks,
    kept,
    referenced,
    empty: deadTags.length === snap.tags.size && deadManifests.length === snap.manifests.size &&
      deadLinks.length === snap.layers.size,
  };
}

function latest(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined && b === undefined) return null;
  return Math.max(a ?? 0, b ?? 0);
}
