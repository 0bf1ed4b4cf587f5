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
   * The bytes the manifest's digest is computed over: the pushed bytes themselves, except
   * for formats that sign a payload inside them (schema 1).
   */
  digested: Uint8Array;
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
}
