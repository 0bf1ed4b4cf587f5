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
 * ["blob", <digest>]                              BlobRecord {size, key?, created, claims?,
 *                                                 pending?, deleting?}: bytes exist, verified
 *                                                 (or are being published, or deleted: see
 *                                                 `blobs.ts` for the states)
 * ["blob-linked", <digest>]                       {at}: bumped by a link that keeps the blob
 *                                                 record as it is (the collector checks both)
 * ["blob-key", <driver key>]                      {digest}: bytes at a key that is not the
 *                                                 digest's own (`blobs/_uploaded/...`) are in use
 * ["repo", <repo>]                                {created}: the repository index (catalog)
 * ["repo-gc", <repo>]                             {at}: bumped by every collector commit that
 *                                                 removes links, tags or manifests of <repo>;
 *                                                 every manifest PUT checks it
 * ["repo-pushed", <repo>]                         {at}: bumped by every manifest PUT; every
 *                                                 collector commit in <repo> checks it
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
 * ["upload", <upload id>]                         UploadSession (or, for a monolithic upload
 *                                                 about to record its bytes, a short-lived
 *                                                 {repo, monolithic} marker)
 * ["pulled", <repo>, <digest>]                    {at}: when a manifest was last pulled
 * ["pulled-tag", <repo>, <tag>]                   {at}: when a tag was last pulled
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

/** Where drivers that publish in place put an upload's bytes (`blobs/_uploaded/<id>`). */
const UPLOADED_PREFIX = `${BLOBS_PREFIX}_uploaded/`;

/** What a blob-driver key under {@linkcode BLOBS_PREFIX} names. */
export type BlobKeyKind =
  | { kind: "digest"; digest: string }
  | { kind: "uploaded"; upload: string }
  | { kind: "other" };

/**
 * Reads a blob-driver key back: a digest's own key, the key of an upload published in
 * place, or something else (never deleted by garbage collection).
 */
export function parseBlobKey(key: string): BlobKeyKind {
  const own = /^blobs\/([a-z0-9]+)\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(key);
  if (own && own[3].startsWith(own[2])) return { kind: "digest", digest: `${own[1]}:${own[3]}` };
  if (key.startsWith(UPLOADED_PREFIX)) {
    const id = key.slice(UPLOADED_PREFIX.length);
    if (/^[0-9a-f-]{36}$/.test(id)) return { kind: "uploaded", upload: id };
  }
  return { kind: "other" };
}

/** Metadata keys. */
export const meta = {
  blob: (digest: string): MetaKey => ["blob", digest],
  blobs: (): MetaKey => ["blob"],
  blobAt: (key: string): MetaKey => ["blob-key", key],
  blobLinked: (digest: string): MetaKey => ["blob-linked", digest],
  blobsLinked: (): MetaKey => ["blob-linked"],
  repo: (repo: string): MetaKey => ["repo", repo],
  repos: (): MetaKey => ["repo"],
  repoGc: (repo: string): MetaKey => ["repo-gc", repo],
  repoPushed: (repo: string): MetaKey => ["repo-pushed", repo],
  layer: (repo: string, digest: string): MetaKey => ["layer", repo, digest],
  layers: (repo: string): MetaKey => ["layer", repo],
  allLayers: (): MetaKey => ["layer"],
  linked: (digest: string, repo: string): MetaKey => ["linked", digest, repo],
  linkedAll: (digest: string): MetaKey => ["linked", digest],
  manifest: (repo: string, digest: string): MetaKey => ["manifest", repo, digest],
  manifests: (repo: string): MetaKey => ["manifest", repo],
  allManifests: (): MetaKey => ["manifest"],
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
  pulled: (repo: string, digest: string): MetaKey => ["pulled", repo, digest],
  pulledIn: (repo: string): MetaKey => ["pulled", repo],
  pulledTag: (repo: string, tag: string): MetaKey => ["pulled-tag", repo, tag],
  pulledTags: (repo: string): MetaKey => ["pulled-tag", repo],
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
