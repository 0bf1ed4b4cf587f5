/**
 * @module
 * Docker image manifests, schema 1: signed (`v1+prettyjws`, a libtrust pretty JWS, see
 * `jws.ts`) and unsigned (`v1+json`). The digest covers the payload, the manifest without
 * its signatures; the signatures are kept apart, so signatures made on different hosts
 * for the same payload merge, and the document is rebuilt from the payload and every
 * signature kept when it is served. References are the `fsLayers` blobs, which carry no
 * sizes.
 */
import { RegistryError } from "../../errors.ts";
import { tryParseDigest } from "../digest.ts";
import { DOCKER_SCHEMA1 } from "../media_types.ts";
import { invalid, isObject } from "./descriptor.ts";
import { formatLengthOf, type JwsSignature, parsePrettyJws, prettyJws, verifyJws } from "./jws.ts";
import { createHash } from "node:crypto";
import type { Descriptor, ManifestFormat, ParsedManifest } from "./types.ts";

/** Unsigned schema 1. */
export const SCHEMA1_UNSIGNED = DOCKER_SCHEMA1[0];
/** Signed schema 1 (a libtrust pretty JWS). */
export const SCHEMA1_SIGNED = DOCKER_SCHEMA1[1];
/** The layer media type schema 1 references imply. */
const LAYER = "application/vnd.docker.container.image.rootfs.diff+x-gtar";

/** The schema 1 payload fields Berth reads. */
export interface Schema1Manifest {
  schemaVersion: 1;
  name: string;
  tag: string;
  architecture?: string;
  fsLayers: { blobSum: string }[];
  history: { v1Compatibility: string }[];
}

/** The signed payload of schema 1 bytes with their signatures, or the bytes themselves. */
function payloadOf(
  doc: Record<string, unknown>,
  mediaType: string,
  bytes: Uint8Array,
): { payload: Uint8Array; signatures: JwsSignature[] } {
  if (doc.signatures === undefined) {
    if (mediaType === SCHEMA1_SIGNED) {
      throw new RegistryError(
        "MANIFEST_UNVERIFIED",
        `The manifest is ${SCHEMA1_SIGNED} but carries no signatures`,
      );
    }
    return { payload: bytes, signatures: [] };
  }
  const jws = parsePrettyJws(bytes, doc);
  return { payload: jws.payload, signatures: jws.signatures };
}

/** Validates a schema 1 payload document. */
export function checkSchema1(doc: unknown): Schema1Manifest {
  if (!isObject(doc)) throw invalid("The signed payload is not a JSON object");
  if (doc.schemaVersion !== 1) {
    throw invalid("schemaVersion must be 1", { schemaVersion: doc.schemaVersion });
  }
  if (doc.signatures !== undefined) {
    throw invalid("The signed payload must not itself carry signatures");
  }
  for (const field of ["name", "tag"]) {
    if (typeof doc[field] !== "string") throw invalid(`${field} must be a string`);
  }
  if (doc.architecture !== undefined && typeof doc.architecture !== "string") {
    throw invalid("architecture must be a string");
  }
  const { fsLayers, history } = doc;
  if (!Array.isArray(fsLayers) || fsLayers.length === 0) {
    throw invalid("fsLayers must be a non-empty list");
  }
  if (!Array.isArray(history) || history.length !== fsLayers.length) {
    throw invalid(
      `history and fsLayers must be lists of the same length, got ${
        Array.isArray(history) ? history.length : "no list"
      } and ${fsLayers.length}`,
    );
  }
  fsLayers.forEach((l, i) => {
    if (!isObject(l) || typeof l.blobSum !== "string" || !tryParseDigest(l.blobSum)) {
      throw invalid(`fsLayers[${i}].blobSum is not a valid digest`, {
        blobSum: isObject(l) ? l.blobSum : l,
      });
    }
  });
  history.forEach((h, i) => {
    if (!isObject(h) || typeof h.v1Compatibility !== "string") {
      throw invalid(`history[${i}].v1Compatibility must be a string`);
    }
  });
  return doc as unknown as Schema1Manifest;
}

/** Identifies a signature among those kept for one payload. */
function signatureId(sig: JwsSignature): string {
  return createHash("sha256").update(`${sig.protected}.${sig.signature}`).digest("hex");
}

/** The schema 1 formats. */
export const schema1Format: ManifestFormat = {
  name: "schema1",
  mediaTypes: DOCKER_SCHEMA1,
  parse(doc, mediaType, bytes) {
    const { payload, signatures } = payloadOf(doc, mediaType, bytes);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    } catch (err) {
      throw invalid(`The signed payload is not valid JSON: ${(err as Error).message}`);
    }
    const manifest = checkSchema1(body);
    const blobs: Descriptor[] = [...new Set(manifest.fsLayers.map((l) => l.blobSum))]
      .map((digest) => ({ mediaType: LAYER, digest, size: 0 }));
    const parsed: Omit<ParsedManifest, "digested"> & { digested: Uint8Array } = {
      mediaType: signatures.length > 0 ? SCHEMA1_SIGNED : SCHEMA1_UNSIGNED,
      blobs,
      manifests: [],
      sizeless: true,
      target: { name: manifest.name, tag: manifest.tag },
      digested: payload,
    };
    if (signatures.length > 0) {
      parsed.signatures = signatures.map((s) => ({
        id: signatureId(s),
        value: s as unknown as Record<string, unknown>,
        group: String(formatLengthOf(s)),
      }));
    }
    return parsed;
  },
  async admit(parsed, target) {
    const signatures = (parsed.signatures ?? []).map((s) => s.value as unknown as JwsSignature);
    for (const [i, sig] of signatures.entries()) await verifyJws(parsed.digested, sig, i);
    const claimed = parsed.target!;
    if (claimed.name !== target.repository) {
      throw new RegistryError(
        "NAME_INVALID",
        `The manifest names repository "${
          claimed.name.slice(0, 200)
        }", but it is pushed to "${target.repository}"`,
        { detail: { name: claimed.name.slice(0, 200), repository: target.repository } },
      );
    }
    if (target.tag !== null && claimed.tag !== target.tag) {
      throw new RegistryError(
        "TAG_INVALID",
        `The manifest names tag "${
          claimed.tag.slice(0, 200)
        }", but it is pushed as "${target.tag}"`,
        { detail: { tag: claimed.tag.slice(0, 200), reference: target.tag } },
      );
    }
  },
  serve(digested, signatures) {
    if (signatures.length === 0) return { bytes: digested, mediaType: SCHEMA1_UNSIGNED };
    // Every signature kept cuts the payload at the same place (pushes that disagreed were
    // refused); should two racing pushes have disagreed, those agreeing with one are served.
    const first = signatures.reduce((a, b) => (b.id < a.id ? b : a));
    const agreeing = signatures.filter((s) => s.group === first.group)
      .map((s) => s.value as unknown as JwsSignature);
    return {
      bytes: prettyJws(digested, formatLengthOf(agreeing[0]), agreeing),
      mediaType: SCHEMA1_SIGNED,
    };
  },
};
