/**
 * @module
 * The key mapper: the only code that computes blob-driver keys and metadata keys.
 *
 * Blob driver (bytes; content-addressed, written once, shared by every repository):
 *
 * ```
 * blobs/<alg>/<first two hex>/<hex>        layer, config and manifest bytes
 * blobs/_uploaded/<upload id>               bytes published in place (S3 multipart);
 *                                           the blob record names this key
 * uploads/<upload id>/...                   unfinished uploads (driver-owned layout)
 * ```
 *
 * Metadata store (small records; every change is an atomic commit):
 *
 * ```
 * ["blob", <digest>]                              {size}: the bytes exist, verified
 * ["repo", <repo>]                                {created}: the repository index (catalog)
 * ["layer", <repo>, <digest>]                     {size}: repo link to a blob
 * ["linked", <digest>, <repo>]                    {}: reverse index of layer links
 * ["manifest", <repo>, <digest>]                  ManifestRecord: repo link to a manifest
 * ["tag", <repo>, <tag>]                          {digest}: a tag
 * ["tagged", <repo>, <digest>, <tag>]             {}: reverse index, tags of a manifest
 * ["referrer", <repo>, <subject>, <digest>]       Descriptor: a manifest whose subject is <subject>
 * ["upload", <upload id>]                         UploadSession
 * ["config", "upload-secret"]                     secret of upload URLs when http.secret is unset
 * ["auth", "signing-key"]                         the built-in token server's ES256 key
 * ```
 *
 * Repository names and tags are validated before they reach this module, so they need
 * no escaping: names match the OCI grammar and are single key parts.
 */
import type { Digest } from "../oci/digest.ts";
import type { MetaKey } from "../../drivers/metadata/types.ts";

/** Driver key of a blob's bytes. */
export function blobKey(digest: Digest): string {
  return `blobs/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

/** Prefix under which every blob lives (for garbage collection walks). */
export const BLOBS_PREFIX = "blobs/";

/** Metadata keys. */
export const meta = {
  blob: (digest: string): MetaKey => ["blob", digest],
  repo: (repo: string): MetaKey => ["repo", repo],
  repos: (): MetaKey => ["repo"],
  layer: (repo: string, digest: string): MetaKey => ["layer", repo, digest],
  linked: (digest: string, repo: string): MetaKey => ["linked", digest, repo],
  linkedAll: (digest: string): MetaKey => ["linked", digest],
  manifest: (repo: string, digest: string): MetaKey => ["manifest", repo, digest],
  tag: (repo: string, tag: string): MetaKey => ["tag", repo, tag],
  tags: (repo: string): MetaKey => ["tag", repo],
  tagged: (repo: string, digest: string, tag: string): MetaKey => ["tagged", repo, digest, tag],
  taggedAll: (repo: string, digest: string): MetaKey => ["tagged", repo, digest],
  referrer: (repo: string, subject: string, digest: string): MetaKey => [
    "referrer",
    repo,
    subject,
    digest,
  ],
  referrers: (repo: string, subject: string): MetaKey => ["referrer", repo, subject],
  upload: (id: string): MetaKey => ["upload", id],
} as const;
