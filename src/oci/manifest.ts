/**
 * @module
 * Manifest parsing and structural validation. The registry stores the exact bytes it
 * was given; this module only reads them to learn what they reference.
 */
import { RegistryError } from "../errors.ts";
import { tryParseDigest } from "./digest.ts";
import {
  DOCKER_SCHEMA1,
  FOREIGN_LAYERS,
  IMAGE_TYPES,
  INDEX_TYPES,
  MANIFEST_TYPES,
} from "./media_types.ts";

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
}

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message, { detail });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw invalid(`${where} must be a map of strings`);
  }
  return value as Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== "string" || mediaType === "") {
    throw invalid(`${where}.mediaType must be a non-empty string`);
  }
  if (typeof digest !== "string" || !tryParseDigest(digest)) {
    throw invalid(`${where}.digest is not a valid digest`, { digest });
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size must be a non-negative integer`, { size });
  }
  if (value.artifactType !== undefined && typeof value.artifactType !== "string") {
    throw invalid(`${where}.artifactType must be a string`);
  }
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || value.urls.some((u) => typeof u !== "string")) {
      throw invalid(`${where}.urls must be a list of strings`);
    }
  }
  return {
    mediaType,
    digest,
    size,
    artifactType: value.artifactType as string | undefined,
    annotations: stringMap(value.annotations, `${where}.annotations`),
    urls: value.urls as string[] | undefined,
    platform: isObject(value.platform) ? value.platform : undefined,
  };
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of descriptors`);
  return value.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * Decides the media type of a pushed manifest from its `Content-Type` and its own
 * `mediaType` field; they must agree when both are present.
 */
function mediaTypeOf(contentType: string | null, doc: Record<string, unknown>): string {
  const raw = contentType?.split(";")[0].trim().toLowerCase();
  // Clients that do not know the type send a generic one (or none); the body decides then.
  const header = raw && raw !== "application/json" && raw !== "text/plain" ? raw : undefined;
  const field = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (doc.mediaType !== undefined && field === undefined) {
    throw invalid("mediaType must be a string");
  }
  if (header && field && header !== field) {
    throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${field}"`);
  }
  const type = header ?? field;
  if (!type) {
    // An OCI manifest may omit mediaType; tell image from index by their shape.
    if (Array.isArray(doc.manifests)) return "application/vnd.oci.image.index.v1+json";
    if (isObject(doc.config)) return "application/vnd.oci.image.manifest.v1+json";
    throw invalid("The manifest has no media type (Content-Type or mediaType)");
  }
  if (DOCKER_SCHEMA1.includes(type)) {
    throw invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
  }
  if (!MANIFEST_TYPES.has(type)) {
    throw invalid(`Manifest media type "${type}" is not supported`, {
      supported: [...MANIFEST_TYPES],
    });
  }
  return type;
}

/** Parses and validates manifest bytes pushed with `contentType`. */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw invalid(`The manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid("The manifest must be a JSON object");
  if (doc.schemaVersion !== 2) {
    throw invalid("schemaVersion must be 2", { schemaVersion: doc.schemaVersion });
  }
  const mediaType = mediaTypeOf(contentType, doc);
  if (doc.artifactType !== undefined && typeof doc.artifactType !== "string") {
    throw invalid("artifactType must be a string");
  }
  const annotations = stringMap(doc.annotations, "annotations");
  const subject = doc.subject === undefined ? undefined : descriptor(doc.subject, "subject");
  const artifactType = doc.artifactType as string | undefined;

  if (INDEX_TYPES.has(mediaType)) {
    return {
      mediaType,
      blobs: [],
      manifests: descriptors(doc.manifests, "manifests"),
      subject,
      artifactType,
      annotations,
    };
  }
  if (!IMAGE_TYPES.has(mediaType)) throw invalid(`Unexpected media type "${mediaType}"`);
  const config = descriptor(doc.config, "config");
  const layers = descriptors(doc.layers ?? [], "layers");
  if (doc.layers === undefined && mediaType !== "application/vnd.oci.image.manifest.v1+json") {
    throw invalid("layers is required");
  }
  const distributable = layers.filter((l) =>
    !(FOREIGN_LAYERS.includes(l.mediaType) && l.urls && l.urls.length > 0)
  );
  return {
    mediaType,
    blobs: [config, ...distributable],
    manifests: [],
    subject,
    artifactType: artifactType ?? config.mediaType,
    annotations,
  };
}

/**
 * True when `accept` (an `Accept` header value, possibly repeated and joined by commas)
 * allows serving a manifest of `mediaType`. A header that names no manifest type at all
 * (absent, `*\/*`, `application/json`) allows anything, as clients rely on.
 */
export function acceptsManifest(accept: string | null, mediaType: string): boolean {
  if (!accept) return true;
  const listed = accept.split(",").map((p) => p.split(";")[0].trim().toLowerCase());
  if (listed.includes(mediaType) || listed.includes("*/*")) return true;
  return !listed.some((t) => MANIFEST_TYPES.has(t));
}
