/**
 * @module
 * The registry layer assembled from its drivers: OCI semantics with no HTTP in them.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { Blobs } from "./blobs.ts";
import { UploadHashers } from "./hashing.ts";
import { Manifests } from "./manifests.ts";
import { Uploads } from "./uploads.ts";

/** What {@linkcode createRegistry} needs. */
export interface RegistryOptions {
  driver: BlobDriver;
  store: MetadataStore;
  /** This process's id (owner of live digest states). */
  instanceId: string;
  /** Always save portable digest states (fleets that round-robin chunks). */
  portableHashing?: boolean;
  /** How long an idle upload session is kept (default 24 h). */
  sessionTtlMs?: number;
  /** How long a writer's lease on an upload lasts without renewal (default 15 s). */
  leaseMs?: number;
}

/** The registry layer: blobs, uploads, manifests over one driver pair. */
export interface Registry {
  readonly driver: BlobDriver;
  readonly store: MetadataStore;
  readonly blobs: Blobs;
  readonly uploads: Uploads;
  readonly manifests: Manifests;
  readonly hashers: UploadHashers;
}

/** Assembles the registry layer. */
export function createRegistry(options: RegistryOptions): Registry {
  const { driver, store } = options;
  const blobs = new Blobs(driver, store);
  const hashers = new UploadHashers({ instanceId: options.instanceId });
  const uploads = new Uploads({
    driver,
    store,
    blobs,
    hashers,
    portable: options.portableHashing ?? false,
    sessionTtlMs: options.sessionTtlMs ?? 24 * 3600_000,
    leaseMs: options.leaseMs ?? 15_000,
  });
  return { driver, store, blobs, uploads, hashers, manifests: new Manifests(driver, store, blobs) };
}
