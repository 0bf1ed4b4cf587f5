/**
 * @module
 * The manifest formats Berth stores and serves, one module each (`oci.ts`, `docker.ts`),
 * and the two questions the registry asks about any manifest: what is this (media type,
 * validity, references, the bytes its digest covers), and may it be served to a client
 * with this `Accept`. A new format is one more module added to {@linkcode FORMATS}.
 */
import { DOCKER_SCHEMA1 } from "../media_types.ts";
import { invalid, isObject } from "./descriptor.ts";
import { dockerFormat } from "./docker.ts";
import { detectOci, ociFormat } from "./oci.ts";
import type { ManifestFormat, ParsedManifest } from "./types.ts";

export type { Descriptor, ManifestFormat, ParsedManifest } from "./types.ts";

/** Every format Berth accepts. */
export const FORMATS: readonly ManifestFormat[] = [ociFormat, dockerFormat];

const BY_TYPE = new Map(FORMATS.flatMap((f) => f.mediaTypes.map((t) => [t, f] as const)));

/** Every manifest media type Berth accepts. */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set(BY_TYPE.keys());

/** The format of `mediaType`, if Berth has one. */
export function formatOf(mediaType: string): ManifestFormat | undefined {
  return BY_TYPE.get(mediaType);
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
  const type = header ?? field ?? detectOci(doc);
  if (!type) {
    if (doc.schemaVersion !== 2) {
      throw invalid("schemaVersion must be 2", { schemaVersion: doc.schemaVersion });
    }
    throw invalid("The manifest has no media type (Content-Type or mediaType)");
  }
  if (!BY_TYPE.has(type)) {
    if (DOCKER_SCHEMA1.includes(type)) {
      throw invalid("Docker schema 1 manifests are not supported; push schema 2 or OCI");
    }
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
  const mediaType = mediaTypeOf(contentType, doc);
  const parsed = BY_TYPE.get(mediaType)!.parse(doc, mediaType, bytes);
  return { ...parsed, digested: parsed.digested ?? bytes };
}

/**
 * True when `accept` (an `Accept` header value, possibly repeated and joined by commas)
 * allows serving a manifest of `mediaType`. A header that names no manifest type at all
 * (absent, `*\/*`, `application/json`) allows anything, as clients rely on.
 */
export function acceptsManifest(accept: string | null | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const listed = accept.split(",").map((p) => p.split(";")[0].trim().toLowerCase());
  if (listed.includes(mediaType) || listed.includes("*/*")) return true;
  return !listed.some((t) => MANIFEST_TYPES.has(t));
}
