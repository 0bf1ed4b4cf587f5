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
 * Metadata store (small records; every change is an atomic commit). `created` and
 * `updated` are milliseconds since the epoch:
 *
 * ```
 * ["blob", <digest>]                              BlobRecord {size, key?, created}: bytes exist, verified
 * ["repo", <repo>]                                {created}: the repository index (catalog)
 * ["layer", <repo>, <digest>]                     BlobRecord: repo link to a blob
 * ["linked", <digest>, <repo>]                    {}: reverse index of layer links
 * ["manifest", <repo>, <digest>]                  ManifestRecord {size, mediaType, created,
 *                                                 refs | refParts, subject?, key?}: repo link
 * ["manifest-refs", <repo>, <digest>, <part>]     {blobs, manifests}: references of a manifest
 *                                                 too large for its record
 * ["manifest-signature", <repo>, <digest>, <id>] SignatureRecord {value, created}: a signature
 *                                                 kept beside a manifest link (schema 1)
 * ["tag", <repo>, <tag>]                          TagRecord {digest, updated}: a tag
 * ["tagged", <repo>, <digest>, <tag>]             {}: reverse index, tags of a manifest
 * ["tag-time", <repo>, <inverted ms>, <tag>]      {digest}: tags newest first (tag_times.ts)
 * ["tag-times-ready", <repo>]                     {}: every older tag of <repo> is indexed
 * ["referrer", <repo>, <subject>, <digest>]       Descriptor: a manifest whose subject is <subject>
 * ["upload", <upload id>]                         UploadSession
 * ["instance", <instance id>]                     {boot, until}: a live process's heartbeat
 * ["lease", <job>]                                {instance, boot, until}: who runs a fleet-wide job
 *                                                 (`mirror-fill/<mirror>/<digest>`: who copies a
 *                                                 blob from an upstream, see src/mirror/fills.ts)
 * ["mirror-pull", <repo>, <digest>]               {at, kind}: last pull of mirrored content (expiry)
 * ["config", "upload-secret"]                     secret of upload URLs when http.secret is unset
 * ["auth", "signing-key"]                         the built-in token server's ES256 key
 * ["config", "schema1-signing-key"]               the key converted schema 1 manifests are
 *                                                 signed with, without a signingkeyfile
 * ["config", "ui-secret"]                         signs the web UI's session cookies when
 *                                                 http.secret is unset
 * ["notify-queue", <endpoint>, <seq>]             QueuedEvent: an event waiting for delivery to
 *                                                 a webhook endpoint; <seq> orders it
 * ["notify-dead", <endpoint>, <seq>]              DeadLetter: an event that outlived maxage
 * ["notify-stats", <endpoint>]                    EndpointCounters: deliveries, failures, retry
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
  blobs: (): MetaKey => ["blob"],
  repo: (repo: string): MetaKey => ["repo", repo],
  repos: (): MetaKey => ["repo"],
  layer: (repo: string, digest: string): MetaKey => ["layer", repo, digest],
  layers: (repo: string): MetaKey => ["layer", repo],
  linked: (digest: string, repo: string): MetaKey => ["linked", digest, repo],
  linkedAll: (digest: string): MetaKey => ["linked", digest],
  manifest: (repo: string, digest: string): MetaKey => ["manifest", repo, digest],
  manifests: (repo: string): MetaKey => ["manifest", repo],
  manifestRefs: (repo: string, digest: string, part: number): MetaKey => [
    "manifest-refs",
    repo,
    digest,
    String(part).padStart(4, "0"),
  ],
  manifestRefsAll: (repo: string, digest: string): MetaKey => ["manifest-refs", repo, digest],
  manifestSignature: (repo: string, digest: string, id: string): MetaKey => [
    "manifest-signature",
    repo,
    digest,
    id,
  ],
  manifestSignatures: (repo: string, digest: string): MetaKey => [
    "manifest-signature",
    repo,
    digest,
  ],
  tag: (repo: string, tag: string): MetaKey => ["tag", repo, tag],
  tags: (repo: string): MetaKey => ["tag", repo],
  tagged: (repo: string, digest: string, tag: string): MetaKey => ["tagged", repo, digest, tag],
  taggedAll: (repo: string, digest: string): MetaKey => ["tagged", repo, digest],
  tagTime: (repo: string, inverted: string, tag: string): MetaKey => [
    "tag-time",
    repo,
    inverted,
    tag,
  ],
  tagTimes: (repo: string): MetaKey => ["tag-time", repo],
  tagTimesReady: (repo: string): MetaKey => ["tag-times-ready", repo],
  referrer: (repo: string, subject: string, digest: string): MetaKey => [
    "referrer",
    repo,
    subject,
    digest,
  ],
  referrers: (repo: string, subject: string): MetaKey => ["referrer", repo, subject],
  upload: (id: string): MetaKey => ["upload", id],
  uploads: (): MetaKey => ["upload"],
  instance: (id: string): MetaKey => ["instance", id],
  instances: (): MetaKey => ["instance"],
  lease: (job: string): MetaKey => ["lease", job],
  leases: (): MetaKey => ["lease"],
  /** Name of the lease of a blob being copied from a mirror's upstream (see `lease`). */
  mirrorFillLease: (mirror: string, digest: string): string => `mirror-fill/${mirror}/${digest}`,
  mirrorPull: (repo: string, digest: string): MetaKey => ["mirror-pull", repo, digest],
  mirrorPulls: (): MetaKey => ["mirror-pull"],
  uploadSecret: (): MetaKey => ["config", "upload-secret"],
  signingKey: (): MetaKey => ["auth", "signing-key"],
  schema1SigningKey: (): MetaKey => ["config", "schema1-signing-key"],
  uiSecret: (): MetaKey => ["config", "ui-secret"],
  notifyQueue: (endpoint: string): MetaKey => ["notify-queue", endpoint],
  notifyQueued: (endpoint: string, seq: string): MetaKey => ["notify-queue", endpoint, seq],
  notifyDeadAll: (endpoint: string): MetaKey => ["notify-dead", endpoint],
  notifyDead: (endpoint: string, seq: string): MetaKey => ["notify-dead", endpoint, seq],
  notifyStats: (endpoint: string): MetaKey => ["notify-stats", endpoint],
} as const;
