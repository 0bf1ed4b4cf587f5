/**
 * @module
 * Storage usage, `GET /v2/_berth/usage`, for the UI and metrics: per repository the bytes
 * of every blob and manifest it links (`bytes`) and of those no other repository links
 * (`unique`: what deleting the repository would free), and the deduplicated total of the
 * repositories listed. Access is the catalog's: the caller must be allowed to list it,
 * and sees the repositories it may pull; `stored` (every blob record, referenced or not:
 * what a collection could shrink) only when it sees them all.
 *
 * Counted from the link records (metadata only), at most once every
 * {@linkcode USAGE_TTL_MS} per process.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { json } from "../http/responses.ts";
import type { Ctx, Route } from "../http/route.ts";
import { isLive } from "../registry/blob_states.ts";
import { meta } from "../registry/keys.ts";
import type { BlobRecord } from "../registry/records.ts";

/** How long one count is served before it is made again. */
export const USAGE_TTL_MS = 30_000;

/** One repository's usage. */
export interface RepositoryUsage {
  name: string;
  /** Bytes of everything it links (layers, configs, manifests). */
  bytes: number;
  /** Bytes of what only it links. */
  unique: number;
  /** Distinct blobs and manifests it links. */
  blobs: number;
}

/** The endpoint's answer. */
export interface Usage {
  repositories: RepositoryUsage[];
  /** Deduplicated over the repositories listed. */
  total: { bytes: number; blobs: number };
  /** Every verified blob record; only for callers who see every repository. */
  stored?: { bytes: number; blobs: number };
  /** When the count was made (ISO 8601). */
  counted: string;
}

/** A count of the whole registry. */
export interface UsageCount {
  at: number;
  /** Repository -> digest -> size. */
  links: Map<string, Map<string, number>>;
  /** Digest -> how many repositories link it. */
  sharing: Map<string, number>;
  stored: { bytes: number; blobs: number };
}

/** Counts usage from the link and blob records. */
export async function countUsage(store: MetadataStore): Promise<UsageCount> {
  const links = new Map<string, Map<string, number>>();
  for (const prefix of [meta.allLayers(), meta.allManifests()]) {
    for await (const e of store.list<{ size: number }>(prefix)) {
      const [, repo, digest] = e.key;
      let repoLinks = links.get(repo);
      if (!repoLinks) links.set(repo, repoLinks = new Map());
      repoLinks.set(digest, e.value.size);
    }
  }
  const sharing = new Map<string, number>();
  for (const repoLinks of links.values()) {
    for (const digest of repoLinks.keys()) sharing.set(digest, (sharing.get(digest) ?? 0) + 1);
  }
  const stored = { bytes: 0, blobs: 0 };
  for await (const e of store.list<BlobRecord>(meta.blobs())) {
    if (!isLive(e.value)) continue;
    stored.bytes += e.value.size;
    stored.blobs++;
  }
  return { at: Date.now(), links, sharing, stored };
}

/** The usage of the repositories `visible` accepts, from `count`. */
export async function usageOf(
  count: UsageCount,
  visible: (repo: string) => Promise<boolean>,
): Promise<Usage> {
  const repositories: RepositoryUsage[] = [];
  const seen = new Map<string, number>();
  let all = true;
  for (const name of [...count.links.keys()].sort()) {
    if (!await visible(name)) {
      all = false;
      continue;
    }
    const repoLinks = count.links.get(name)!;
    let bytes = 0;
    let unique = 0;
    for (const [digest, size] of repoLinks) {
      bytes += size;
      if (count.sharing.get(digest) === 1) unique += size;
      seen.set(digest, size);
    }
    repositories.push({ name, bytes, unique, blobs: repoLinks.size });
  }
  let bytes = 0;
  for (const size of seen.values()) bytes += size;
  const usage: Usage = {
    repositories,
    total: { bytes, blobs: seen.size },
    counted: new Date(count.at).toISOString(),
  };
  if (all) usage.stored = count.stored;
  return usage;
}

/** The usage route over the metadata store `store()` returns (read per request). */
export function usageRoute(store: () => MetadataStore): Route {
  let cached: Promise<UsageCount> | null = null;
  const current = (): Promise<UsageCount> => {
    const now = Date.now();
    if (!cached) {
      cached = countUsage(store()).catch((err) => {
        cached = null;
        throw err;
      });
    }
    return cached.then((count) => {
      if (now - count.at <= USAGE_TTL_MS) return count;
      cached = null;
      return current();
    });
  };
  return {
    name: "usage",
    pattern: /^\/v2\/_berth\/usage$/,
    methods: {
      GET: async (ctx: Ctx) => {
        const count = await current();
        return json(await usageOf(count, (repo) => ctx.access.can(repo, "pull")));
      },
    },
    access: "catalog",
  };
}
