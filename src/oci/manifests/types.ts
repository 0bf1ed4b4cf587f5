/**
 * @module
 * What every manifest format module provides, and what the registry learns from a
 * manifest once, at push time: its media type and everything it references.
 */

/** A content descriptor as manifests carry it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Record<string, unknown>;
}

/** What a stored manifest references, learned once at push time. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be linked in the repository (config and distributable layers). */
  blobs: Descriptor[];
  /** Child manifests that must exist in the repository (indexes only). */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** `artifactType`, falling back to the config media type (for referrers). */
  artifactType?: string;
  annotations?: Record<string, string>;
  /**
   * The bytes the manifest's digest is computed over, and the bytes stored under it: the
   * pushed bytes themselves, except for formats that sign a payload inside them (schema 1).
   */
  digested: Uint8Array;
  /**
   * True when the format names blobs without their sizes (schema 1 `fsLayers`): only their
   * presence in the repository is checked, and `size` of {@linkcode blobs} is 0.
   */
  sizeless?: boolean;
  /** The repository and tag the manifest says it belongs to (schema 1). */
  target?: { name: string; tag: string };
  /**
   * Signatures carried in the pushed bytes beside the digested ones (schema 1). They are
   * kept with the repository's link, merged across pushes, and handed back to the
   * format's {@linkcode ManifestFormat.serve} to rebuild what is served.
   */
  signatures?: ManifestSignature[];
}

/** A signature kept apart from the digested bytes of a manifest. */
export interface ManifestSignature {
  /** Names the signature among those of one manifest: the same one pushed twice is kept once. */
  id: string;
  /** The signature as its format reads it back (JSON). */
  value: Record<string, unknown>;
  /**
   * Signatures of one manifest merge only within one group: schema 1 signatures name where
   * the payload is cut out of the document (`formatLength`), and one document has one cut.
   */
  group?: string;
}

/** Where a manifest is pushed: the repository, and the tag when pushed by tag. */
export interface PushTarget {
  repository: string;
  tag: string | null;
}

/** One manifest format: its media types, how it is parsed and what it references. */
export interface ManifestFormat {
  /** Short name for logs (`oci`, `docker`, `schema1`). */
  readonly name: string;
  /** Media types this format stores and serves. */
  readonly mediaTypes: readonly string[];
  /**
   * Validates a parsed JSON document of one of {@linkcode mediaTypes} and says what it
   * references. Throws `MANIFEST_INVALID` (or a more specific code) when it is not valid.
   */
  parse(
    doc: Record<string, unknown>,
    mediaType: string,
    bytes: Uint8Array,
  ): Omit<ParsedManifest, "digested"> & { digested?: Uint8Array };
  /**
   * Checks that need more than the document, run after its digest was checked against the
   * URL and before its references are: signatures, and the repository and tag it names
   * (schema 1). Throws a `RegistryError` with the code that says what is wrong.
   */
  admit?(parsed: ParsedManifest, target: PushTarget): Promise<void>;
  /**
   * What is served for a stored manifest of this format whose digest covers only part of
   * what was pushed (schema 1): the bytes rebuilt from the digested ones and every
   * signature kept, and their media type. Formats without it serve the stored bytes.
   */
  serve?(
    digested: Uint8Array,
    signatures: readonly ManifestSignature[],
  ): { bytes: Uint8Array; mediaType: string };
}
