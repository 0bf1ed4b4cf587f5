/**
 * @module
 * {@linkcode TagService} and {@linkcode ReferrerService} of one repository: the
 * read-only listings of a repository's manifests (tags by name, tags newest first,
 * referrers).
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifests/types.ts";
import { meta } from "./keys.ts";
import { listTags } from "./listing.ts";
import type { ManifestStore } from "./manifests.ts";
import type { ReferrerRecord } from "./records.ts";
import type { Page, ReferrerService, TagService, TagTimePage } from "./repository.ts";
import { recentTags } from "./tag_times.ts";

/** Tags of one repository, in lexical order. */
export class RepositoryTags implements TagService {
  constructor(private readonly store: MetadataStore, private readonly repo: string) {}

  list(n: number | null, last: string | null): Promise<Page> {
    return listTags(this.store, this.repo, n, last);
  }

  recent(n: number, cursor: string | null): Promise<TagTimePage> {
    return recentTags(this.store, this.repo, n, cursor);
  }
}

/** Referrers of one repository, from the entries written when each referrer was pushed. */
export class RepositoryReferrers implements ReferrerService {
  constructor(private readonly manifests: ManifestStore, private readonly repo: string) {}

  async list(subject: Digest, artifactType: string | null): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    const entries = this.manifests.store.list<ReferrerRecord>(
      meta.referrers(this.repo, subject.value),
    );
    for await (const entry of entries) {
      const r = entry.value;
      if (artifactType !== null && r.artifactType !== artifactType) continue;
      const { annotationsInManifest, ...descriptor } = r;
      if (annotationsInManifest) {
        // Read through the manifest's own link, which knows where its bytes are (S3
        // manifests may live at the key their upload was published under).
        descriptor.annotations = await this.manifests.annotations(this.repo, r.digest);
      }
      out.push(descriptor);
    }
    return out;
  }
}
