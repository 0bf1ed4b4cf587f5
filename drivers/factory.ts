/**
 * @module
 * Opens the configured drivers. Option shapes mirror the `storage:` and `berth.metadata:`
 * sections of the configuration, so `src/config/` output can be passed straight in.
 */
import type { BlobDriver } from "./blob/types.ts";
import { FilesystemBlobDriver } from "./blob/filesystem.ts";
import { MemoryBlobDriver } from "./blob/memory.ts";
import type { S3DriverOptions } from "./blob/s3.ts";
import type { MetadataStore } from "./metadata/types.ts";
import { KvMetadataStore } from "./metadata/kv.ts";
import { MemoryMetadataStore } from "./metadata/memory.ts";

/** Blob storage settings (the `storage:` section). */
export interface BlobDriverOptions {
  driver: "filesystem" | "inmemory" | "s3";
  filesystem: { rootdirectory: string };
  s3?: object;
}

/** Metadata settings (`berth.metadata`). */
export interface MetadataStoreOptions {
  driver: "kv" | "memory" | "postgres";
  path?: string;
  url?: string;
  /** `postgres` only. */
  password?: string;
  /** `postgres` only: connections kept at most. */
  pool?: number;
}

/** Opens the blob driver `options` selects. */
export async function openBlobDriver(options: BlobDriverOptions): Promise<BlobDriver> {
  switch (options.driver) {
    case "inmemory":
      return new MemoryBlobDriver();
    case "filesystem":
      return await FilesystemBlobDriver.open(options.filesystem.rootdirectory);
    case "s3": {
      // Loaded on demand, so filesystem deployments do not carry the S3 client.
      const { S3BlobDriver } = await import("./blob/s3.ts");
      return new S3BlobDriver(options.s3 as unknown as S3DriverOptions);
    }
  }
}

/** Opens the metadata store `options` selects. */
export async function openMetadataStore(options: MetadataStoreOptions): Promise<MetadataStore> {
  if (options.driver === "memory") return new MemoryMetadataStore();
  if (options.driver === "postgres") {
    if (!options.url) throw new TypeError("The postgres metadata store needs a url");
    // Loaded on demand, so registries on Deno KV never load the PostgreSQL client.
    const { PostgresMetadataStore } = await import("./metadata/postgres.ts");
    return await PostgresMetadataStore.open({
      url: options.url,
      password: options.password,
      pool: options.pool,
    });
  }
  return await KvMetadataStore.open(options.url ?? options.path);
}
