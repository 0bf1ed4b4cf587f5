/**
 * @module
 * The mirror as a decorator of the registry facade: `repository(name)` of a name under a
 * mirror's prefix returns mirrored services (manifests, blobs, tags and referrers that
 * pull through from the upstream into the repository below, which is the cache; uploads
 * refused), and the hosted repository for any other name. The catalog, health and the
 * rest are the inner registry's: the catalog lists what is cached.
 */
import type { Digest } from "../oci/digest.ts";
import type {
  BlobInfo,
  Registry,
  Repository,
  RequestContext,
  UploadService,
  UploadStatus,
} from "../registry/repository.ts";
import { MirrorBlobs } from "./blobs.ts";
import { type MirrorContext, type MirrorDeps, readOnly } from "./context.ts";
import { MirrorReferrers, MirrorTags } from "./listing.ts";
import { MirrorManifests } from "./manifests.ts";

/** `inner` with the mirrors of `deps` in front of it. */
export function mirroredRegistry(inner: Registry, deps: MirrorDeps): Registry {
  return {
    repository(name: string, context: RequestContext): Repository {
      const local = inner.repository(name, context);
      const found = deps.mirrors.forRepository(name);
      if (!found) return local;
      return new MirrorRepository({ ...deps, ...found, name, local });
    },
    catalog: (n, last, visible) => inner.catalog(n, last, visible),
    health: () => inner.health(),
    describe: () => inner.describe(),
  };
}

/** A mirrored repository; its services are made on first use. */
class MirrorRepository implements Repository {
  #blobs?: MirrorBlobs;
  #manifests?: MirrorManifests;
  #tags?: MirrorTags;
  #referrers?: MirrorReferrers;
  #uploads?: ReadOnlyUploads;

  constructor(private readonly ctx: MirrorContext) {}

  get name(): string {
    return this.ctx.name;
  }
  get blobs(): MirrorBlobs {
    return this.#blobs ??= new MirrorBlobs(this.ctx);
  }
  get manifests(): MirrorManifests {
    return this.#manifests ??= new MirrorManifests(this.ctx);
  }
  get tags(): MirrorTags {
    return this.#tags ??= new MirrorTags(this.ctx);
  }
  get referrers(): MirrorReferrers {
    return this.#referrers ??= new MirrorReferrers(this.ctx);
  }
  get uploads(): ReadOnlyUploads {
    return this.#uploads ??= new ReadOnlyUploads(this.ctx);
  }
}

/** Uploads into a mirror: all `UNSUPPORTED`. */
class ReadOnlyUploads implements UploadService {
  readonly minChunkLength = 0;

  constructor(private readonly ctx: MirrorContext) {}

  #refuse(): Promise<never> {
    return Promise.reject(readOnly(this.ctx, "pushing a blob"));
  }
  start(): Promise<UploadStatus> {
    return this.#refuse();
  }
  status(): Promise<UploadStatus> {
    return this.#refuse();
  }
  append(): Promise<UploadStatus> {
    return this.#refuse();
  }
  complete(): Promise<BlobInfo> {
    return this.#refuse();
  }
  cancel(): Promise<void> {
    return this.#refuse();
  }
  monolithic(_digest: Digest): Promise<BlobInfo> {
    return this.#refuse();
  }
}
