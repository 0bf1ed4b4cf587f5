/**
 * @module
 * Bases for decorators of the registry facade: each forwards every member of its
 * interface to an inner implementation, so a decorator (a mirror, schema 1 conversion, a
 * test recorder) overrides only what it changes and keeps forwarding members the facade
 * gains later (optional ones included) without an edit.
 */
import type { Digest } from "../oci/digest.ts";
import type {
  BlobService,
  HealthCheck,
  ManifestContent,
  ManifestInfo,
  ManifestRequest,
  ManifestService,
  Page,
  PutManifestOptions,
  PutManifestResult,
  ReferrerService,
  Registry,
  Repository,
  RepositorySummary,
  RequestContext,
  StatusSection,
  StorageUsage,
  TagService,
  UploadService,
} from "./repository.ts";

/** A {@linkcode Registry} that forwards everything to `inner`. */
export class RegistryDecorator implements Registry {
  readonly usage?: () => Promise<StorageUsage>;
  readonly status?: () => Promise<StatusSection[]>;

  constructor(protected readonly inner: Registry) {
    if (inner.usage) this.usage = () => inner.usage!();
    if (inner.status) this.status = () => inner.status!();
  }

  repository(name: string, context: RequestContext): Repository {
    return this.inner.repository(name, context);
  }
  catalog(
    n: number | null,
    last: string | null,
    visible: (repository: string) => Promise<boolean>,
  ): Promise<Page> {
    return this.inner.catalog(n, last, visible);
  }
  health(): Promise<HealthCheck[]> {
    return this.inner.health();
  }
  describe(): { storage: string; metadata: string } {
    return this.inner.describe();
  }
}

/** A {@linkcode Repository} that forwards everything to `inner`. */
export class RepositoryDecorator implements Repository {
  constructor(protected readonly inner: Repository) {}

  get name(): string {
    return this.inner.name;
  }
  get blobs(): BlobService {
    return this.inner.blobs;
  }
  get uploads(): UploadService {
    return this.inner.uploads;
  }
  get manifests(): ManifestService {
    return this.inner.manifests;
  }
  get tags(): TagService {
    return this.inner.tags;
  }
  get referrers(): ReferrerService {
    return this.inner.referrers;
  }
  summary(): Promise<RepositorySummary> {
    return this.inner.summary();
  }
}

/** A {@linkcode ManifestService} that forwards everything to `inner`. */
export class ManifestsDecorator implements ManifestService {
  constructor(protected readonly inner: ManifestService) {}

  stat(reference: string, request?: ManifestRequest): Promise<ManifestInfo> {
    return this.inner.stat(reference, request);
  }
  get(reference: string, request?: ManifestRequest): Promise<ManifestContent> {
    return this.inner.get(reference, request);
  }
  tagsOf(digest: Digest, n: number): Promise<Page> {
    return this.inner.tagsOf(digest, n);
  }
  put(
    reference: string,
    bytes: Uint8Array,
    contentType: string | null,
    tags: readonly string[],
    options?: PutManifestOptions,
  ): Promise<PutManifestResult> {
    return this.inner.put(reference, bytes, contentType, tags, options);
  }
  delete(reference: string): Promise<void> {
    return this.inner.delete(reference);
  }
}
