/**
 * @module
 * The two shapes OCI and Docker schema 2 share: an image (a config and layers) and an
 * index (child manifests), with what each references. `oci.ts` and `docker.ts` bind
 * them to their media types and differences.
 */
import { descriptor, descriptors, distributable, invalid, stringMap } from "./descriptor.ts";
import type { ParsedManifest } from "./types.ts";

/** What the shared shapes parse: everything but the digested bytes, which `mod.ts` adds. */
type Parsed = Omit<ParsedManifest, "digested">;
import { FOREIGN_LAYERS } from "../media_types.ts";

/** Parses an index (`manifests`); `subject`, `artifactType` and `annotations` are optional. */
export function parseIndex(doc: Record<string, unknown>, mediaType: string): Parsed {
  return {
    mediaType,
    blobs: [],
    manifests: descriptors(doc.manifests, "manifests"),
    ...common(doc),
  };
}

/** Parses an image (`config`, `layers`); `layersRequired` for Docker, optional in OCI. */
export function parseImage(
  doc: Record<string, unknown>,
  mediaType: string,
  layersRequired: boolean,
): Parsed {
  const config = descriptor(doc.config, "config");
  if (doc.layers === undefined && layersRequired) throw invalid("layers is required");
  const layers = descriptors(doc.layers ?? [], "layers");
  const parts = common(doc);
  return {
    mediaType,
    blobs: [config, ...distributable(layers, FOREIGN_LAYERS)],
    manifests: [],
    ...parts,
    artifactType: parts.artifactType ?? config.mediaType,
  };
}

/** `schemaVersion` 2, and the optional fields every schema 2 manifest may carry. */
function common(doc: Record<string, unknown>) {
  if (doc.schemaVersion !== 2) {
    throw invalid("schemaVersion must be 2", { schemaVersion: doc.schemaVersion });
  }
  if (doc.artifactType !== undefined && typeof doc.artifactType !== "string") {
    throw invalid("artifactType must be a string");
  }
  return {
    subject: doc.subject === undefined ? undefined : descriptor(doc.subject, "subject"),
    artifactType: doc.artifactType as string | undefined,
    annotations: stringMap(doc.annotations, "annotations"),
  };
}
