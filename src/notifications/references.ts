/**
 * @module
 * `target.references` (with `notifications.events.includereferences`): the descriptors a
 * manifest references (config and layers, or an index's manifests), read from the
 * manifest's bytes when the event is delivered. The bytes are stored once by digest and
 * outlive a deleted manifest until garbage collection, so a late delivery still finds
 * them; when they are gone the event goes out without references rather than not at all.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { tryParseDigest } from "../oci/digest.ts";
import { parseManifest } from "../oci/manifests/mod.ts";
import { blobKey, meta } from "../registry/keys.ts";
import type { BlobRecord } from "../registry/records.ts";
import type { NotificationDescriptor } from "./event.ts";

/** Manifests whose references are kept in memory (they never change). */
const CACHE_SIZE = 256;

/** Reads the references of manifests, with a small cache. */
export class ReferenceReader {
  readonly #cache = new Map<string, NotificationDescriptor[]>();

  constructor(
    private readonly store: () => MetadataStore,
    private readonly blobs: () => BlobDriver,
  ) {}

  /** The descriptors manifest `digest` references, or null when its bytes are gone. */
  async of(digest: string, mediaType: string): Promise<NotificationDescriptor[] | null> {
    const cached = this.#cache.get(digest);
    if (cached) return cached;
    const parsed = tryParseDigest(digest);
    if (!parsed) return null;
    try {
      const record = await this.store().get<BlobRecord>(meta.blob(digest));
      const stream = await this.blobs().read(record?.value.key ?? blobKey(parsed));
      if (!stream) return null;
      const manifest = parseManifest(await new Response(stream).bytes(), mediaType);
      const refs = [...manifest.blobs, ...manifest.manifests].map((d) => ({
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
      }));
      if (this.#cache.size >= CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(digest, refs);
      return refs;
    } catch {
      return null;
    }
  }
}
