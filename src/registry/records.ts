/**
 * @module
 * The records the registry keeps in the metadata store (their keys are in `keys.ts`).
 * Every record knows when it was made or last moved, and a manifest link records what
 * the manifest references, so garbage collection and retention work from metadata alone
 * and never re-read manifests or list the blob store to mark.
 */

/**
 * Verified bytes of a digest exist; a repository's blob link carries the same fields.
 * `key` is set only when the bytes are not at the canonical `blobKey(digest)` (drivers
 * that publish in place, see `UploadDriver.publish`).
 */
export interface BlobRecord {
  size: number;
  key?: string;
  /** When the record was written (ms since the epoch; 0 for records older than the field). */
  created?: number;
  /**
   * Writers about to put bytes of this digest in place (writer id -> until when, ms since
   * the epoch): garbage collection leaves the digest alone while one has not run out.
   * Only on the `["blob", digest]` record, never on links.
   */
  claims?: Record<string, number>;
  /** The bytes are not in place yet: a writer has claimed the digest and is publishing. */
  pending?: true;
  /**
   * A collector is deleting the bytes (until when, ms since the epoch): writers wait for
   * it to finish, or take over once it has run out.
   */
  deleting?: number;
}

/** What a manifest references, written when it is pushed. */
export interface ManifestRefs {
  /** Config and layer digests (the blobs that must stay). */
  blobs: string[];
  /** Child manifest digests (an index's platforms). */
  manifests: string[];
}

/** A repository's link to a manifest. */
export interface ManifestRecord {
  size: number;
  mediaType: string;
  subject?: string;
  /** Where the bytes are when not at the canonical blob key (see {@linkcode BlobRecord}). */
  key?: string;
  /** When the manifest was pushed (ms since the epoch; 0 for older records). */
  created?: number;
  /** The references, when they fit in the record. */
  refs?: ManifestRefs;
  /** Otherwise the number of `manifest-refs` records holding them, in order. */
  refParts?: number;
}

/** A signature kept beside a manifest link (schema 1), one record per distinct signature. */
export interface SignatureRecord {
  /** The signature as its manifest format reads it back. */
  value: Record<string, unknown>;
  /** Signatures merge only within one group (schema 1: where they cut the payload). */
  group?: string;
  /** When it was first pushed (ms since the epoch). */
  created: number;
}

/** A tag. */
export interface TagRecord {
  digest: string;
  /** When the tag was last moved (ms since the epoch; 0 for older records). */
  updated?: number;
}

/** A referrer entry: the descriptor served in the referrers index. */
export interface ReferrerRecord {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** True when the annotations were too large for the record and live in the manifest. */
  annotationsInManifest?: boolean;
}

/** A repository index entry. */
export interface RepoRecord {
  created?: number;
}
