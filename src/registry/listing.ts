/**
 * @module
 * Paginated listings (tags of a repository, the catalog): lexical order, `n` items after
 * the exclusive `last`, and whether more remain.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { meta } from "./keys.ts";
import type { Page } from "./repository.ts";

export type { Page } from "./repository.ts";

/** Largest page a client may ask for; larger `n` is clamped, as distribution does. */
export const MAX_PAGE = 10_000;

/** Names under `prefix` (the last key part of each record), one page of them. */
async function page(
  store: MetadataStore,
  prefix: readonly string[],
  n: number | null,
  last: string | null,
): Promise<Page> {
  const limit = Math.min(n ?? MAX_PAGE, MAX_PAGE);
  if (limit === 0) return { items: [], more: false };
  const items: string[] = [];
  // No tag or repository name is longer than 255 characters, so a longer `last` lists
  // the same entries as its first 256 characters, and stays within key-size limits.
  const after = last === null ? undefined : [...prefix, last.slice(0, 256)];
  for await (const entry of store.list(prefix, { after, limit: limit + 1 })) {
    items.push(entry.key[prefix.length]);
  }
  const more = items.length > limit;
  return { items: more ? items.slice(0, limit) : items, more };
}

/** Tags of `repo`; `NAME_UNKNOWN` when the repository does not exist. */
export async function listTags(
  store: MetadataStore,
  repo: string,
  n: number | null,
  last: string | null,
): Promise<Page> {
  if (!await store.get(meta.repo(repo))) {
    throw new RegistryError("NAME_UNKNOWN", `Repository ${repo} is unknown`, {
      detail: { name: repo },
    });
  }
  return page(store, meta.tags(repo), n, last);
}

/** Repository names; `visible` filters them (access control) without breaking pages. */
export async function listRepositories(
  store: MetadataStore,
  n: number | null,
  last: string | null,
  visible: (repo: string) => Promise<boolean> = () => Promise.resolve(true),
): Promise<Page> {
  const limit = Math.min(n ?? MAX_PAGE, MAX_PAGE);
  if (limit === 0) return { items: [], more: false };
  const items: string[] = [];
  let cursor = last;
  // Filtering can drop entries, so read pages until this one is full or the list ends.
  while (true) {
    const chunk = await page(store, meta.repos(), limit, cursor);
    for (const repo of chunk.items) {
      if (items.length === limit) return { items, more: true };
      if (await visible(repo)) items.push(repo);
    }
    if (!chunk.more) return { items, more: false };
    cursor = chunk.items[chunk.items.length - 1];
    if (items.length === limit) return { items, more: true };
  }
}
