/**
 * @module
 * OCI image manifests and indexes (image-spec v1.1): artifacts (`artifactType`, any
 * config type), `subject` for referrers, layers optional in an image manifest.
 */
import { OCI_INDEX, OCI_MANIFEST } from "../media_types.ts";
import { parseImage, parseIndex } from "./image_index.ts";
import { isObject } from "./descriptor.ts";
import type { ManifestFormat } from "./types.ts";

/** The OCI formats. */
export const ociFormat: ManifestFormat = {
  name: "oci",
  mediaTypes: [OCI_MANIFEST, OCI_INDEX],
  parse(doc, mediaType) {
    return mediaType === OCI_INDEX ? parseIndex(doc, mediaType) : parseImage(doc, mediaType, false);
  },
};

/**
 * The media type of an OCI document that does not say (its `mediaType` field may be
 * omitted): an index has `manifests`, an image a `config`. Null when it is neither.
 */
export function detectOci(doc: Record<string, unknown>): string | null {
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (isObject(doc.config)) return OCI_MANIFEST;
  return null;
}
