/**
 * @module
 * Docker image manifests, schema 2, and Docker manifest lists. Like OCI, but layers are
 * required in an image.
 */
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } from "../media_types.ts";
import { parseImage, parseIndex } from "./image_index.ts";
import type { ManifestFormat } from "./types.ts";

/** The Docker schema 2 formats. */
export const dockerFormat: ManifestFormat = {
  name: "docker",
  mediaTypes: [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST],
  parse(doc, mediaType) {
    return mediaType === DOCKER_MANIFEST_LIST
      ? parseIndex(doc, mediaType)
      : parseImage(doc, mediaType, true);
  },
};
