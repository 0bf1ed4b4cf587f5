/**
 * @module
 * Counts for status pages, read from the records alone: what one repository holds (tags,
 * manifests, linked blobs and their bytes, its last push) and the storage the whole
 * registry uses, each blob counted once. Both read every record they count, so they
 * serve pages (which cache them briefly), never a request path of the OCI API.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { meta } from "./keys.ts";
import type { BlobRecord, ManifestRecord, RepoRecord } from "./records.ts";
import type { RepositorySummary, StorageUsage } from "./repository.ts";

/** The summary of `repo`; `NAME_UNKNOWN` when there is no such repository. */
export async function repositorySummary(
  store: MetadataStore,
  repo: string,
): Promise<RepositorySummary> {
  const record = await store.get<RepoRecord>(meta.repo(repo));
  if (!record) {
    throw new RegistryError("NAME_UNKNOWN", `Repository ${repo} is unknown`, {
      detail: { name: repo },
    });
  }
  const count = async (prefix: readonly string[]): Promise<number> => {
    let n = 0;
    for await (const _ of store.list(prefix)) n++;
    return n;
  };
  const [tags, manifests, blobs] = await Promise.all([
    count(meta.tags(repo)),
    sizes<ManifestRecord>(store, meta.manifests(repo)),
    sizes<BlobRecord>(store, meta.layers(repo)),
  ]);
  // The repository record is rewritten by every push into it (blob or manifest).
  const lastPush = Math.max(record.value.created ?? 0, manifests.newest) || null;
  return {
    tags,
    manifests: manifests.count,
    blobs: blobs.count,
    bytes: manifests.bytes + blobs.bytes,
    lastPush,
  };
}

/** Blob records of the whole registry: how many, and their bytes. */
export async function storageUsage(store: MetadataStore): Promise<StorageUsage> {
  const { count, bytes } = await sizes<BlobRecord>(store, meta.blobs());
  return { blobs: count, bytes };
}

async function sizes<T extends { size: number; created?: number }>(
  store: MetadataStore,
  prefix: readonly string[],
): Promise<{ count: number; bytes: number; newest: number }> {
  let count = 0, bytes = 0, newest = 0;
  for await (const { value } of store.list<T>(prefix)) {
    count++;
    bytes += value.size;
    newest = Math.max(newest, value.created ?? 0);
  }
  return { count, bytes, newest };
}
