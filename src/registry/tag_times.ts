/**
 * @module
 * Tags newest first: an index `["tag-time", repo, <inverted time>, tag] -> {digest}` kept
 * in the very commits that move and delete tags (`manifests.ts` adds
 * {@linkcode tagTimeMutations}), so a page of the most recently pushed tags is one short
 * listing, however many tags the repository holds.
 *
 * Tags written before the index existed are indexed once per repository, on its first
 * listing ({@linkcode backfill}): batches of tags are read, and the entries they lack are
 * committed under checks on those very tag records, so a tag moved meanwhile is read
 * again rather than indexed at its old time; a marker record then says the repository is
 * complete.
 */
import type { Check, MetadataStore, Mutation, Versioned } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { retryCommit } from "./atomic.ts";
import { meta } from "./keys.ts";
import type { TagRecord } from "./records.ts";
import type { TagEntry, TagTimePage } from "./repository.ts";

/** Largest time the index orders (year 2286, in ms); times are stored as its complement. */
const MAX_TIME = 9_999_999_999_999;
/** Tags indexed per backfill commit (each is a commit check, at most 100). */
const BACKFILL_BATCH = 100;
/** Largest page of {@linkcode recentTags}. */
export const MAX_RECENT_PAGE = 1000;

/** The key part that sorts newer times first: the complement of `time`, zero-padded. */
export function invertedTime(time: number): string {
  const t = Math.min(Math.max(0, Math.floor(time)), MAX_TIME);
  return String(MAX_TIME - t).padStart(13, "0");
}

/**
 * The index mutations of a tag moving from `before` (null: it did not exist) to `after`
 * (null: it is deleted), for the commit that makes the move.
 */
export function tagTimeMutations(
  repo: string,
  tag: string,
  before: TagRecord | null | undefined,
  after: TagRecord | null,
): Mutation[] {
  const out: Mutation[] = [];
  if (before) {
    out.push({ type: "delete", key: meta.tagTime(repo, invertedTime(before.updated ?? 0), tag) });
  }
  if (after) {
    out.push({
      type: "set",
      key: meta.tagTime(repo, invertedTime(after.updated ?? 0), tag),
      value: { digest: after.digest },
    });
  }
  return out;
}

/** A cursor of {@linkcode recentTags}: the inverted time and the tag of the last entry. */
const CURSOR = /^(\d{13})([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/;

/**
 * At most `n` tags of `repo`, newest first, after `cursor` (from the previous page's
 * `next`). `NAME_UNKNOWN` for no repository; `PAGINATION_NUMBER_INVALID` for a cursor
 * this function did not make.
 */
export async function recentTags(
  store: MetadataStore,
  repo: string,
  n: number,
  cursor: string | null,
): Promise<TagTimePage> {
  const limit = Math.min(Math.max(1, Math.floor(n)), MAX_RECENT_PAGE);
  let after: string[] | undefined;
  if (cursor !== null) {
    const m = CURSOR.exec(cursor);
    if (!m) {
      throw new RegistryError(
        "PAGINATION_NUMBER_INVALID",
        `Cursor "${cursor.slice(0, 200)}" is invalid`,
      );
    }
    after = [...meta.tagTimes(repo), m[1], m[2]];
  }
  const [repoRecord, ready] = await store.getMany([meta.repo(repo), meta.tagTimesReady(repo)]);
  if (!repoRecord) {
    throw new RegistryError("NAME_UNKNOWN", `Repository ${repo} is unknown`, {
      detail: { name: repo },
    });
  }
  if (!ready) await backfill(store, repo);
  const items: TagEntry[] = [];
  let next: string | null = null;
  const prefix = meta.tagTimes(repo);
  for await (
    const entry of store.list<{ digest: string }>(prefix, { after, limit: limit + 1 })
  ) {
    if (items.length === limit) {
      const last = items[items.length - 1];
      next = invertedTime(last.updated) + last.name;
      break;
    }
    const [inverted, name] = entry.key.slice(prefix.length);
    items.push({ name, digest: entry.value.digest, updated: MAX_TIME - Number(inverted) });
  }
  return { items, next };
}

/**
 * Indexes every tag of `repo` that has no entry yet (idempotent; see the module doc),
 * then marks the repository complete. A batch is committed under checks on the versions
 * its tags were listed at; a batch that changed meanwhile is listed again.
 */
async function backfill(store: MetadataStore, repo: string): Promise<void> {
  // Every writer keeps the index, so an entry never outlives its tag: as many entries as
  // tags means every tag has its entry (the usual case: a repository made since).
  const count = async (prefix: readonly string[]) => {
    let n = 0;
    for await (const _ of store.list(prefix)) n++;
    return n;
  };
  const [tags, entries] = await Promise.all([count(meta.tags(repo)), count(meta.tagTimes(repo))]);
  if (tags !== entries) await indexMissing(store, repo);
  await store.commit([], [{ type: "set", key: meta.tagTimesReady(repo), value: {} }]);
}

/** Commits the entries of the tags of `repo` that lack one, a batch at a time. */
async function indexMissing(store: MetadataStore, repo: string): Promise<void> {
  let last: string[] | undefined;
  while (true) {
    const listed = await retryCommit(`the tag index of ${repo}`, async () => {
      const tags: Versioned<TagRecord>[] = [];
      for await (
        const e of store.list<TagRecord>(meta.tags(repo), { after: last, limit: BACKFILL_BATCH })
      ) tags.push(e);
      const expected = tags.map((t) => tagTimeKey(repo, t.key[2], t.value));
      const present = await getAll(store, expected);
      const missing = tags.filter((_, i) => present[i] === null);
      if (missing.length === 0) return tags;
      const checks: Check[] = missing.map((t) => ({ key: t.key, version: t.version }));
      const mutations = missing.flatMap((t) => tagTimeMutations(repo, t.key[2], null, t.value));
      return await store.commit(checks, mutations) === null ? null : tags;
    });
    if (listed.length < BACKFILL_BATCH) break;
    last = listed[listed.length - 1].key as string[];
  }
}

/** The index key of `tag` as `record` has it. */
function tagTimeKey(repo: string, tag: string, record: TagRecord): readonly string[] {
  return meta.tagTime(repo, invertedTime(record.updated ?? 0), tag);
}

/** `getMany` over any number of keys (the store takes ten at a time). */
async function getAll(
  store: MetadataStore,
  keys: readonly (readonly string[])[],
): Promise<(Versioned<unknown> | null)[]> {
  const batches: Promise<(Versioned<unknown> | null)[]>[] = [];
  for (let i = 0; i < keys.length; i += 10) batches.push(store.getMany(keys.slice(i, i + 10)));
  return (await Promise.all(batches)).flat();
}
