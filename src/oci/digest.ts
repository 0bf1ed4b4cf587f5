/**
 * @module
 * Content digests (`algorithm:encoded`). sha256 is required by the OCI specification and
 * sha512 accepted; anything else is `DIGEST_INVALID`, never a 500.
 */
import { RegistryError } from "../errors.ts";

/** Digest algorithms Berth verifies. */
export type DigestAlgorithm = "sha256" | "sha512";

/** A parsed, validated digest. */
export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex. */
  hex: string;
  /** `algorithm:hex`. */
  value: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_SHAPE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses `value` or returns null; used where a non-digest is a normal case (references). */
export function tryParseDigest(value: string): Digest | null {
  const m = DIGEST_SHAPE.exec(value);
  if (!m) return null;
  const algorithm = m[1] as DigestAlgorithm;
  const expected = HEX_LENGTH[algorithm];
  if (expected === undefined) return null;
  const hex = m[2];
  if (hex.length !== expected || !/^[0-9a-f]+$/.test(hex)) return null;
  return { algorithm, hex, value };
}

/** Parses `value`, throwing `DIGEST_INVALID` with a message that quotes it. */
export function parseDigest(value: string | null | undefined): Digest {
  if (value === null || value === undefined || value === "") {
    throw new RegistryError("DIGEST_INVALID", "A digest is required");
  }
  const digest = tryParseDigest(value);
  if (digest) return digest;
  const m = DIGEST_SHAPE.exec(value);
  if (m && HEX_LENGTH[m[1] as DigestAlgorithm] === undefined) {
    throw new RegistryError("DIGEST_INVALID", `Digest algorithm "${m[1]}" is not supported`, {
      detail: { digest: value, supported: Object.keys(HEX_LENGTH) },
    });
  }
  throw new RegistryError("DIGEST_INVALID", `Digest "${truncate(value)}" is malformed`, {
    detail: { digest: truncate(value) },
  });
}

/** Keeps user input quoted in messages short. */
export function truncate(value: string, max = 200): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
