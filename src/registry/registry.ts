/**
 * @module
 * The registry layer assembled from its drivers: OCI semantics with no HTTP in them,
 * behind the facade of `repository.ts`. This module wires the shared stores (blob
 * bytes and records, upload sessions, manifest bytes) to per-repository services bound
 * to one caller, whose changes carry that caller in their events.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import { manifestFormats } from "../oci/manifests/mod.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { BlobStore, RepositoryBlobs } from "./blobs.ts";
import { Events, type EventSink, type RequestContext } from "./events.ts";
import type { UploadHashers } from "./hashing.ts";
import type { Instances } from "./instances.ts";
import { listRepositories } from "./listing.ts";
import { ManifestStore, RepositoryManifests } from "./manifests.ts";
import type {
  HealthCheck,
  Page,
  Registry,
  Repository,
  RepositorySummary,
  StorageUsage,
} from "./repository.ts";
import { repositorySummary, storageUsage } from "./summary.ts";
import { RepositoryReferrers, RepositoryTags } from "./tags.ts";
import { RepositoryUploads, Uploads } from "./uploads.ts";

/** What {@linkcode createRegistry} needs. */
export interface RegistryOptions {
  driver: BlobDriver;
  store: MetadataStore;
  /** This process and the heartbeats of the others (upload leases). */
  instances: Instances;
  /** Running digests of uploads (owned by the runtime, which reports their statistics). */
  hashers: UploadHashers;
  /** Always save portable digest states (fleets that round-robin chunks). */
  portableHashing?: boolean;
  /** How long an idle upload session is kept (default 24 h). */
  sessionTtlMs?: number;
  /** How long a writer's lease on an upload lasts without renewal (default 15 s). */
  leaseMs?: number;
  /** Consumers of events (notifications, metrics); none by default. */
  sinks?: readonly EventSink[];
  /** Accept pushes of Docker schema 1 manifests (`compatibility.schema1.enabled`). */
  schema1?: boolean;
}

/** Assembles the registry layer. */
export function createRegistry(options: RegistryOptions): Registry {
  const { driver, store } = options;
  const blobs = new BlobStore(driver, store);
  const manifests = new ManifestStore(
    blobs,
    store,
    manifestFormats({ schema1: options.schema1 }),
  );
  const uploads = new Uploads({
    driver,
    store,
    blobs,
    hashers: options.hashers,
    instances: options.instances,
    portable: options.portableHashing ?? false,
    sessionTtlMs: options.sessionTtlMs ?? 24 * 3600_000,
    leaseMs: options.leaseMs ?? 15_000,
  });
  const sinks = options.sinks ?? [];

  return {
    repository(name: string, context: RequestContext): Repository {
      const events = new Events(sinks, name, context);
      return new LocalRepository(name, events, blobs, uploads, manifests, store);
    },
    catalog(
      n: number | null,
      last: string | null,
      visible: (repository: string) => Promise<boolean>,
    ): Promise<Page> {
      return listRepositories(store, n, last, visible);
    },
    async health(): Promise<HealthCheck[]> {
      const check = async (name: string, probe: () => Promise<void>): Promise<HealthCheck> => {
        try {
          await probe();
          return { name, ok: true };
        } catch (err) {
          return { name, ok: false, error: (err as Error).message };
        }
      };
      return await Promise.all([
        check(`blobs:${driver.name}`, () => driver.health()),
        check(`metadata:${store.name}`, () => store.health()),
      ]);
    },
    describe: () => ({ storage: driver.name, metadata: store.name }),
    usage: (): Promise<StorageUsage> => storageUsage(store),
  };
}

/** The services of one repository, made on first use. */
class LocalRepository implements Repository {
  #blobs?: RepositoryBlobs;
  #uploads?: RepositoryUploads;
  #manifests?: RepositoryManifests;
  #tags?: RepositoryTags;
  #referrers?: RepositoryReferrers;

  constructor(
    readonly name: string,
    private readonly events: Events,
    private readonly blobStore: BlobStore,
    private readonly uploadStore: Uploads,
    private readonly manifestStore: ManifestStore,
    private readonly store: MetadataStore,
  ) {}

  get blobs(): RepositoryBlobs {
    return this.#blobs ??= new RepositoryBlobs(this.blobStore, this.name, this.events);
  }
  get uploads(): RepositoryUploads {
    return this.#uploads ??= new RepositoryUploads(this.uploadStore, this.name, this.events);
  }
  get manifests(): RepositoryManifests {
    return this.#manifests ??= new RepositoryManifests(this.manifestStore, this.name, this.events);
  }
  get tags(): RepositoryTags {
    return this.#tags ??= new RepositoryTags(this.store, this.name);
  }
  get referrers(): RepositoryReferrers {
    return this.#referrers ??= new RepositoryReferrers(this.manifestStore, this.name);
  }

  summary(): Promise<RepositorySummary> {
    return repositorySummary(this.store, this.name);
  }
}
