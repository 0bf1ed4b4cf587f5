/**
 * @module
 * One repository during a collection: a snapshot of its records (read after its push
 * mark, so a manifest PUT during the read shows), and the commits that carry out a
 * plan (`mark.ts`). Every commit checks the push mark `["repo-pushed", repo]` as it was
 * before the snapshot, plus the version of each record it deletes, and bumps the
 * collector mark `["repo-gc", repo]` that manifest PUTs check. So a PUT that committed
 * after the snapshot makes the plan's commits fail (the repository is marked again),
 * and a PUT that checked its references before a removal committed checks them again.
 */
import type { Check, MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { meta } from "../registry/keys.ts";
import { signatureDeletions } from "../registry/signatures.ts";
import { tagTimeMutations } from "../registry/tag_times.ts";
import { manifestRefs } from "../registry/manifests.ts";
import type {
  BlobRecord,
  ManifestRecord,
  ManifestRefs,
  RepoRecord,
  TagRecord,
} from "../registry/records.ts";
import type { Kept } from "./report.ts";

/** A record with the version it was read at. */
export interface Entry<T> {
  version: string;
  value: T;
}

/** A repository's records as one collection saw them. */
export interface RepoSnapshot {
  name: string;
  /** The catalog entry. */
  repo: Entry<RepoRecord> | null;
  /** Version of the push mark, read before anything else. */
  pushed: string | null;
  tags: Map<string, Entry<TagRecord>>;
  /** The reverse index: manifest digest -> tags listed under it. */
  tagged: Map<string, string[]>;
  manifests: Map<string, Entry<ManifestRecord> & { refs: ManifestRefs | null }>;
  layers: Map<string, Entry<BlobRecord>>;
  /** When manifests (by digest) and tags were last pulled, where retention needs it. */
  pulled: Map<string, number>;
  pulledTags: Map<string, number>;
}

/** What a collection does in one repository (made by `mark.ts`). */
export interface Plan {
  /** Tags to delete (retention). */
  tags: string[];
  /** Manifests to delete. */
  manifests: string[];
  /** Layer links to delete. */
  links: string[];
  /** Why each kept item is kept (only when asked to explain). */
  kept: Kept[];
  /** Digests live manifests reference (configs, layers, children), linked or not. */
  referenced: Set<string>;
  /** True when nothing (no tag, manifest or link) is left afterwards. */
  empty: boolean;
}

/** Reads repository `name`; pull times only when `pulls`. */
export async function readRepository(
  store: MetadataStore,
  name: string,
  pulls: boolean,
): Promise<RepoSnapshot> {
  const pushed = (await store.get(meta.repoPushed(name)))?.version ?? null;
  const repo = await store.get<RepoRecord>(meta.repo(name));
  const snap: RepoSnapshot = {
    name,
    repo: repo && { version: repo.version, value: repo.value },
    pushed,
    tags: new Map(),
    tagged: new Map(),
    manifests: new Map(),
    layers: new Map(),
    pulled: new Map(),
    pulledTags: new Map(),
  };
  for await (const e of store.list<TagRecord>(meta.tags(name))) {
    snap.tags.set(e.key[2], { version: e.version, value: e.value });
  }
  for await (const e of store.list(["tagged", name])) {
    const digest = e.key[2];
    snap.tagged.set(digest, [...snap.tagged.get(digest) ?? [], e.key[3]]);
  }
  for await (const e of store.list<ManifestRecord>(meta.manifests(name))) {
    const refs = await manifestRefs(store, name, e.key[2], e.value);
    snap.manifests.set(e.key[2], { version: e.version, value: e.value, refs });
  }
  for await (const e of store.list<BlobRecord>(meta.layers(name))) {
    snap.layers.set(e.key[2], { version: e.version, value: e.value });
  }
  if (pulls) {
    for await (const e of store.list<{ at: number }>(meta.pulledIn(name))) {
      snap.pulled.set(e.key[2], e.value.at);
    }
    for await (const e of store.list<{ at: number }>(meta.pulledTags(name))) {
      snap.pulledTags.set(e.key[2], e.value.at);
    }
  }
  return snap;
}

/** Checks per commit besides the push mark (Deno KV allows 100). */
const ITEMS_PER_COMMIT = 90;
/** Mutations per commit before a batch is cut (Deno KV allows 1000). */
const MUTATIONS_PER_COMMIT = 800;
/** How long the collector mark of an emptied repository is kept (a PUT's window is seconds). */
const EMPTY_MARK_MS = 7 * 24 * 3600_000;

/**
 * Carries out `plan` in batches (tags, then manifests, then links). False when a check
 * failed: the repository changed, and what was not yet committed is left undone.
 */
export async function applyPlan(
  store: MetadataStore,
  snap: RepoSnapshot,
  plan: Plan,
): Promise<boolean> {
  const repo = snap.name;
  const items: { check: Check; mutations: Mutation[] }[] = [];
  for (const tag of plan.tags) {
    const t = snap.tags.get(tag)!;
    items.push({
      check: { key: meta.tag(repo, tag), version: t.version },
      mutations: [
        { type: "delete", key: meta.tag(repo, tag) },
        { type: "delete", key: meta.tagged(repo, t.value.digest, tag) },
        { type: "delete", key: meta.pulledTag(repo, tag) },
        // The tag's entry in the newest-first index (the web UI's tag pages).
        ...tagTimeMutations(repo, tag, t.value, null),
      ],
    });
  }
  for (const digest of plan.manifests) {
    const m = snap.manifests.get(digest)!;
    const mutations: Mutation[] = [
      { type: "delete", key: meta.manifest(repo, digest) },
      { type: "delete", key: meta.pulled(repo, digest) },
      // A schema 1 manifest's signatures are kept beside its link and go with it.
      ...await signatureDeletions(store, repo, digest),
    ];
    for (let i = 0; i < (m.value.refParts ?? 0); i++) {
      mutations.push({ type: "delete", key: meta.manifestRefs(repo, digest, i) });
    }
    if (m.value.subject) {
      mutations.push({ type: "delete", key: meta.referrer(repo, m.value.subject, digest) });
    }
    // Left-over reverse-index entries (their tags point elsewhere, or are deleted above).
    for (const tag of snap.tagged.get(digest) ?? []) {
      mutations.push({ type: "delete", key: meta.tagged(repo, digest, tag) });
    }
    items.push({ check: { key: meta.manifest(repo, digest), version: m.version }, mutations });
  }
  for (const digest of plan.links) {
    items.push({
      check: { key: meta.layer(repo, digest), version: snap.layers.get(digest)!.version },
      mutations: [
        { type: "delete", key: meta.layer(repo, digest) },
        { type: "delete", key: meta.linked(digest, repo) },
      ],
    });
  }
  const pushed: Check = { key: meta.repoPushed(repo), version: snap.pushed };
  let i = 0;
  while (i < items.length) {
    const checks: Check[] = [pushed];
    const mutations: Mutation[] = [
      { type: "set", key: meta.repoGc(repo), value: { at: Date.now() } },
    ];
    // At least one item per commit, however many mutations it brings.
    while (
      i < items.length && checks.length <= ITEMS_PER_COMMIT &&
      (checks.length === 1 || mutations.length + items[i].mutations.length <= MUTATIONS_PER_COMMIT)
    ) {
      checks.push(items[i].check);
      mutations.push(...items[i].mutations);
      i++;
    }
    if (await store.commit(checks, mutations) === null) return false;
  }
  return true;
}

/**
 * Removes the catalog entry of a repository the plan left empty, unless anything was
 * linked, pushed or uploaded into it since the snapshot. True when it went.
 */
export async function removeIfEmpty(store: MetadataStore, snap: RepoSnapshot): Promise<boolean> {
  if (!snap.repo) return false;
  const repo = snap.name;
  const done = await store.commit([
    { key: meta.repo(repo), version: snap.repo.version },
    { key: meta.repoPushed(repo), version: snap.pushed },
  ], [
    { type: "delete", key: meta.repo(repo) },
    { type: "delete", key: meta.repoPushed(repo) },
    // Not deleted: a PUT that read no mark before this run's removals must not find "no
    // mark" again and pass its check. Expired long after any PUT could still be running.
    {
      type: "set",
      key: meta.repoGc(repo),
      value: { at: Date.now(), empty: true },
      expireInMs: EMPTY_MARK_MS,
    },
  ]);
  return done !== null;
}
