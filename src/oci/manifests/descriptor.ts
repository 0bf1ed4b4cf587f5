/**
 * @module
 * Validation pieces shared by the manifest formats: descriptors, string maps and the
 * `MANIFEST_INVALID` error they all throw.
 */
import { RegistryError } from "../../errors.ts";
import { tryParseDigest } from "../digest.ts";
import type { Descriptor } from "./types.ts";

/** A `MANIFEST_INVALID` error. */
export function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message, { detail });
}

/** True for a JSON object (not null, not a list). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A map of strings (annotations, labels), or undefined when absent. */
export function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw invalid(`${where} must be a map of strings`);
  }
  return value as Record<string, string>;
}

/** A validated descriptor. */
export function descriptor(value: unknown, where: string): Descriptor {
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

/** A validated list of descriptors. */
export function descriptors(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be a list of descriptors`);
  return value.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/** Layers that must be in the registry: all but foreign layers that name where they live. */
export function distributable(layers: Descriptor[], foreign: readonly string[]): Descriptor[] {
  return layers.filter((l) => !(foreign.includes(l.mediaType) && l.urls && l.urls.length > 0));
}
