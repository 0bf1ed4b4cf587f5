/**
 * @module
 * Docker schema 1 manifests for tests: payloads, libtrust-style signatures with fresh keys
 * (EC or RSA, a JWK or an `x5c` chain made with openssl), and a check that every signature
 * of a served manifest verifies.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { SCHEMA1_FORMATS } from "../../src/oci/manifests/mod.ts";
import {
  type JwsKey,
  type JwsSignature,
  prettyJws,
  signJws,
  verifyJws,
} from "../../src/oci/manifests/jws.ts";
import { formatLengthFor } from "../../src/oci/manifests/jws.ts";
import { keyFromJwk } from "../../src/schema1/signing_key.ts";
import { sha256 } from "./oci.ts";
import { derOf, issue, selfSigned } from "./openssl.ts";

export const SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
export const UNSIGNED = "application/vnd.docker.distribution.manifest.v1+json";

const encoder = new TextEncoder();

/** A fresh signing key. */
export async function newKey(alg: JwsKey["alg"] = "ES256"): Promise<JwsKey> {
  const { exportJWK, generateKeyPair } = await import("jose");
  const pair = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(pair.privateKey) as Record<string, unknown>;
  return await keyFromJwk(jwk, alg.startsWith("RS") ? alg as "RS256" : undefined);
}

/** A schema 1 payload document naming `layers` (digests), newest first. */
export function payloadDoc(name: string, tag: string, layers: string[]): Record<string, unknown> {
  return {
    schemaVersion: 1,
    name,
    tag,
    architecture: "amd64",
    fsLayers: layers.map((blobSum) => ({ blobSum })),
    history: layers.map((_, i) => ({
      v1Compatibility: JSON.stringify({ id: `${i}`.padStart(64, "0"), created: "2024-01-01" }),
    })),
  };
}

/** The payload bytes of `doc`, compact or indented like distribution's (`"   "`). */
export function payloadBytes(doc: Record<string, unknown>, indent?: string): Uint8Array {
  return encoder.encode(JSON.stringify(doc, null, indent));
}

/** Signatures of `payload` by each key. */
export async function sign(payload: Uint8Array, keys: JwsKey[]): Promise<JwsSignature[]> {
  const out: JwsSignature[] = [];
  for (const key of keys) out.push(await signJws(payload, key));
  return out;
}

/** The pretty JWS of `payload` with `signatures`. */
export function jws(payload: Uint8Array, signatures: JwsSignature[]): Uint8Array {
  return prettyJws(payload, formatLengthFor(payload), signatures);
}

/** A signed manifest of `doc` by `keys` (one fresh ES256 key by default); with its digest. */
export async function signedManifest(
  doc: Record<string, unknown>,
  keys?: JwsKey[],
  indent?: string,
): Promise<{ bytes: Uint8Array; text: string; digest: string; payload: Uint8Array }> {
  const payload = payloadBytes(doc, indent);
  const bytes = jws(payload, await sign(payload, keys ?? [await newKey()]));
  return { bytes, text: new TextDecoder().decode(bytes), digest: sha256(payload), payload };
}

/**
 * Parses served schema 1 bytes, verifies every signature, and returns the payload digest
 * and the signatures' key IDs (or `x5c` for chains).
 */
export async function verifyServed(bytes: Uint8Array): Promise<{ digest: string; kids: string[] }> {
  const parsed = SCHEMA1_FORMATS.parse(bytes, SIGNED);
  const sigs = (parsed.signatures ?? []).map((s) => s.value as unknown as JwsSignature);
  assert.ok(sigs.length > 0, "the served manifest carries no signatures");
  for (const [i, sig] of sigs.entries()) await verifyJws(parsed.digested, sig, i);
  return {
    digest: sha256(parsed.digested),
    kids: sigs.map((s) => String(s.header.jwk?.kid ?? "x5c")),
  };
}

/** A certificate chain made with openssl: a CA, and a leaf it issued whose key signs. */
export interface Chain {
  key: JwsKey;
  /** base64 DER: leaf, then the CA, as `x5c` lists them. */
  x5c: string[];
  /** A CA that did not issue the leaf, for broken chains. */
  strangerCa: string;
}

/** Makes a CA and a leaf certificate (EC P-256) in a temp directory. */
export async function makeChain(): Promise<Chain> {
  const dir = await Deno.makeTempDir({ prefix: "berth-x5c-" });
  try {
    for (const name of ["ca", "stranger"]) {
      await selfSigned(dir, name, `/CN=${name}`, ["basicConstraints=critical,CA:TRUE"]);
    }
    await issue(dir, "leaf", "/CN=leaf", "ca");
    const der = (name: string) => derOf(dir, name);
    const pem = await Deno.readTextFile(`${dir}/leaf.key`);
    const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, unknown>;
    return {
      key: await keyFromJwk(jwk),
      x5c: [await der("leaf"), await der("ca")],
      strangerCa: await der("stranger"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A signature by the chain's leaf key whose header carries `x5c` instead of a JWK. */
export async function signWithChain(
  payload: Uint8Array,
  key: JwsKey,
  x5c: string[],
): Promise<JwsSignature> {
  const sig = await signJws(payload, key);
  return { ...sig, header: { alg: sig.header.alg, x5c } };
}
