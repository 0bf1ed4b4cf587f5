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
import { RegistryDecorator, RepositoryDecorator } from "../registry/decorators.ts";
import { MirrorBlobs } from "./blobs.ts";
import { type MirrorContext, type MirrorDeps, readOnly } from "./context.ts";
import { MirrorReferrers, MirrorTags } from "./listing.ts";
import { MirrorManifests } from "./manifests.ts";

/** `inner` with the mirrors of `deps` in front of it. */
export function mirroredRegistry(inner: Registry, deps: MirrorDeps): Registry {
  return new MirroredRegistry(inner, deps);
}

class MirroredRegistry extends RegistryDecorator {
  constructor(inner: Registry, private readonly deps: MirrorDeps) {
    super(inner);
  }

  override repository(name: string, context: RequestContext): Repository {
    const local = this.inner.repository(name, context);
    const found = this.deps.mirrors.forRepository(name);
    if (!found) return local;
    return new MirrorRepository({ ...this.deps, ...found, name, local });
  }
}

/**
 * A mirrored repository; its services are made on first use. What it does not override
 * (the summary, members the facade gains later) is the cache's, the repository below.
 */
class MirrorRepository extends RepositoryDecorator {
  #blobs?: MirrorBlobs;
  #manifests?: MirrorManifests;
  #tags?: MirrorTags;
  #referrers?: MirrorReferrers;
  #uploads?: ReadOnlyUploads;

  constructor(private readonly ctx: MirrorContext) {
    super(ctx.local);
  }

  override get name(): string {
    return this.ctx.name;
  }
  override get blobs(): MirrorBlobs {
    return this.#blobs ??= new MirrorBlobs(this.ctx);
  }
  override get manifests(): MirrorManifests {
    return this.#manifests ??= new MirrorManifests(this.ctx);
  }
  override get tags(): MirrorTags {
    return this.#tags ??= new MirrorTags(this.ctx);
  }
  override get referrers(): MirrorReferrers {
    return this.#referrers ??= new MirrorReferrers(this.ctx);
  }
  override get uploads(): ReadOnlyUploads {
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
