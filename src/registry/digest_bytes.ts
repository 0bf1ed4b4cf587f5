/**
 * @module
 * Digest of bytes already in memory (manifests).
 */
import { createHash } from "node:crypto";
import type { Digest, DigestAlgorithm } from "../oci/digest.ts";

/** The `algorithm` digest of `bytes`. */
export function digestBytes(bytes: Uint8Array, algorithm: DigestAlgorithm): Digest {
  const hex = createHash(algorithm).update(bytes).digest("hex");
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}
