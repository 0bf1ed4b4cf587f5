/**
 * @module
 * libtrust's "pretty" JSON Web Signatures, the envelope of Docker schema 1 manifests: a
 * JSON document whose `signatures` member signs the rest of it. Every signature's protected
 * header says how to cut the signed payload out of the document, `formatLength` bytes of
 * it followed by the bytes of `formatTail`; the payload is what the manifest's digest
 * covers. This module parses such a document, verifies a signature (a `jwk` or an `x5c`
 * chain; ES256/384/512 and RS256/384/512, with jose, loaded on first use), rebuilds the
 * document from a payload and any set of signatures the way libtrust writes it, and signs
 * a payload.
 */
import { Buffer } from "node:buffer";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { RegistryError } from "../../errors.ts";
import { invalid, isObject } from "./descriptor.ts";

/** One signature of a pretty JWS, as libtrust writes it. */
export interface JwsSignature {
  /** Unprotected header: `alg`, and `jwk` or `x5c` (the signer's key or certificate chain). */
  header: { alg: string; jwk?: Record<string, unknown>; x5c?: string[] };
  /** base64url of the signature. */
  signature: string;
  /** base64url of the protected header (`formatLength`, `formatTail`, `time`). */
  protected: string;
}

/** A parsed pretty JWS. */
export interface PrettyJws {
  /** The signed payload: the document without its signatures. */
  payload: Uint8Array;
  /** Bytes of the document that start the payload. */
  formatLength: number;
  signatures: JwsSignature[];
}

/** The algorithms libtrust signs with. */
export const JWS_ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512"] as const;

/** Longest `x5c` chain accepted (leaf plus intermediates). */
const MAX_CHAIN = 8;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]+=*$/;

const encoder = new TextEncoder();

/** base64url without padding, as JOSE writes it. */
export function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === "string" ? encoder.encode(bytes) : bytes).toString(
    "base64url",
  );
}

function fromBase64url(text: string, what: string): Uint8Array {
  if (!BASE64URL.test(text) || text.length % 4 === 1) {
    throw invalid(`${what} is not base64url`);
  }
  return new Uint8Array(Buffer.from(text, "base64url"));
}

/** The fields of the protected header that locate the payload. */
function formatOf(sig: JwsSignature, i: number): { length: number; tail: string } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(fromBase64url(sig.protected, "protected")));
  } catch (err) {
    if (err instanceof RegistryError) throw err;
  }
  if (!isObject(header)) {
    throw invalid(`The protected header of signature ${i + 1} is not a JSON object`);
  }
  const { formatLength, formatTail } = header;
  if (typeof formatLength !== "number" || !Number.isSafeInteger(formatLength) || formatLength < 0) {
    throw invalid(`Signature ${i + 1} has no valid formatLength`, { formatLength });
  }
  if (typeof formatTail !== "string" || !BASE64URL.test(formatTail)) {
    throw invalid(`Signature ${i + 1} has no valid formatTail`, { formatTail });
  }
  return { length: formatLength, tail: formatTail };
}

/** A validated signature object (the members libtrust reads; others are dropped). */
function signatureOf(value: unknown, i: number): JwsSignature {
  const where = `signatures[${i}]`;
  if (!isObject(value) || !isObject(value.header)) {
    throw invalid(`${where} must be an object with a header`);
  }
  const { alg, jwk, x5c } = value.header;
  if (typeof alg !== "string") throw invalid(`${where}.header.alg must be a string`);
  if (jwk !== undefined && !isObject(jwk)) throw invalid(`${where}.header.jwk must be an object`);
  if (
    x5c !== undefined &&
    (!Array.isArray(x5c) || x5c.some((c) => typeof c !== "string" || !BASE64.test(c)))
  ) {
    throw invalid(`${where}.header.x5c must be a list of base64 certificates`);
  }
  for (const member of ["signature", "protected"] as const) {
    const text = value[member];
    if (typeof text !== "string" || text === "" || !BASE64URL.test(text)) {
      throw invalid(`${where}.${member} must be a base64url string`);
    }
  }
  const header: JwsSignature["header"] = { alg };
  if (jwk !== undefined) header.jwk = jwk;
  if (x5c !== undefined) header.x5c = x5c as string[];
  return { header, signature: value.signature as string, protected: value.protected as string };
}

/**
 * Parses the pretty JWS `bytes` (already parsed as `doc`) by libtrust's rules: every
 * signature's protected header names the same `formatLength` and `formatTail`, and the
 * payload is the first `formatLength` bytes followed by the tail. `MANIFEST_INVALID`
 * when it does not hold; the signatures are not verified here.
 */
export function parsePrettyJws(bytes: Uint8Array, doc: Record<string, unknown>): PrettyJws {
  if (!Array.isArray(doc.signatures) || doc.signatures.length === 0) {
    throw new RegistryError("MANIFEST_UNVERIFIED", "The manifest carries no signatures");
  }
  const signatures = doc.signatures.map(signatureOf);
  const formats = signatures.map(formatOf);
  const { length, tail } = formats[0];
  formats.forEach((f, i) => {
    if (f.length !== length) {
      throw invalid(
        `Signatures disagree on formatLength: ${length} in signature 1, ${f.length} in ${i + 1}`,
        { formatLength: [length, f.length] },
      );
    }
    if (f.tail !== tail) {
      throw invalid(`Signatures disagree on formatTail: signature 1 and ${i + 1} differ`);
    }
  });
  if (length > bytes.byteLength) {
    throw invalid(`formatLength ${length} is beyond the end of the manifest`, {
      formatLength: length,
      size: bytes.byteLength,
    });
  }
  const tailBytes = fromBase64url(tail, "formatTail");
  const payload = new Uint8Array(length + tailBytes.byteLength);
  payload.set(bytes.subarray(0, length));
  payload.set(tailBytes, length);
  return { payload, formatLength: length, signatures };
}

/** `formatLength` of a signature, for signatures already accepted once. */
export function formatLengthOf(sig: JwsSignature): number {
  return formatOf(sig, 0).length;
}

/**
 * libtrust's key ID of a public key: the SHA-256 of its DER SubjectPublicKeyInfo, cut to
 * 240 bits, in base32, in twelve groups of four separated by colons.
 */
export function libtrustKeyId(jwk: Record<string, unknown>): string {
  const { d: _private, ...publicJwk } = jwk;
  const der = createPublicKey({ key: publicJwk, format: "jwk" })
    .export({ type: "spki", format: "der" });
  const sum = createHash("sha256").update(der).digest().subarray(0, 30);
  return base32(sum).match(/.{4}/g)!.join(":");
}

function base32(bytes: Uint8Array): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** The public key of the leaf of an `x5c` chain whose every link is issued by the next. */
function chainKey(x5c: string[]): Record<string, unknown> {
  if (x5c.length > MAX_CHAIN) throw new Error(`the x5c chain is longer than ${MAX_CHAIN}`);
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
  } catch {
    throw new Error("a certificate of the x5c chain does not parse");
  }
  // As libtrust and distribution, no trust root and no validity dates: old manifests were
  // signed by certificates that have since expired, and migrating them must still work.
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      throw new Error(`certificate "${chain[i].subject}" is not issued by the next in x5c`);
    }
  }
  return chain[0].publicKey.export({ format: "jwk" }) as Record<string, unknown>;
}

/**
 * Verifies signature `index` over `payload`; `MANIFEST_UNVERIFIED` saying why when it
 * does not verify.
 */
export async function verifyJws(
  payload: Uint8Array,
  sig: JwsSignature,
  index: number,
): Promise<void> {
  const fail = (why: string) =>
    new RegistryError(
      "MANIFEST_UNVERIFIED",
      `Signature ${index + 1} of the manifest does not verify: ${why}`,
      { detail: { signature: index + 1 } },
    );
  const { alg, jwk, x5c } = sig.header;
  if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    throw fail(`algorithm "${alg.slice(0, 40)}" is not one of ${JWS_ALGORITHMS.join(", ")}`);
  }
  let keyJwk: Record<string, unknown>;
  try {
    if (x5c && x5c.length > 0) {
      keyJwk = chainKey(x5c);
    } else if (jwk) {
      if (jwk.kid !== undefined && jwk.kid !== libtrustKeyId(jwk)) {
        throw new Error(`its key ID "${String(jwk.kid).slice(0, 80)}" does not match its key`);
      }
      keyJwk = jwk;
    } else {
      throw new Error("it names no key (no jwk and no x5c)");
    }
  } catch (err) {
    throw fail((err as Error).message);
  }
  const { flattenedVerify, importJWK } = await import("jose");
  try {
    const { d: _private, ...publicJwk } = keyJwk;
    const key = await importJWK(publicJwk, alg);
    await flattenedVerify(
      {
        protected: sig.protected,
        header: sig.header as Record<string, unknown>,
        payload: base64url(payload),
        signature: sig.signature,
      },
      key,
      { algorithms: [alg] },
    );
  } catch (err) {
    const message = (err as Error).message;
    throw fail(message === "signature verification failed" ? "the signature is wrong" : message);
  }
}

/**
 * libtrust's JSON indent of a document: what stands between `{\n` and its first quote, or
 * nothing for a compact document.
 */
function indentOf(payload: Uint8Array): string {
  if (payload.byteLength < 3 || payload[0] !== 0x7b || payload[1] !== 0x0a) return "";
  const quote = payload.indexOf(0x22, 1);
  return quote > 2 ? new TextDecoder().decode(payload.subarray(2, quote)) : "";
}

/** Go's `encoding/json` escapes these; libtrust output must match byte for byte. */
function goEscapes(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]));
}

/**
 * The pretty JWS of `payload` with `signatures`, exactly as libtrust's `PrettySignature`
 * writes it: the first `formatLength` bytes of the payload, then the signatures in its
 * order (by key ID, then signature), indented like the payload, then `}`.
 */
export function prettyJws(
  payload: Uint8Array,
  formatLength: number,
  signatures: readonly JwsSignature[],
): Uint8Array {
  const kid = (s: JwsSignature) => typeof s.header.jwk?.kid === "string" ? s.header.jwk.kid : "";
  const sorted = [...signatures].sort((a, b) =>
    kid(a) === kid(b)
      ? (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0)
      : (kid(a) < kid(b) ? -1 : 1)
  ).map((s) => {
    const header: Record<string, unknown> = {};
    if (s.header.jwk) header.jwk = sortedKeys(s.header.jwk);
    header.alg = s.header.alg;
    if (s.header.x5c) header.x5c = s.header.x5c;
    return { header, signature: s.signature, protected: s.protected };
  });
  const indent = indentOf(payload);
  const list = indent
    ? JSON.stringify(sorted, null, indent).replaceAll("\n", `\n${indent}`)
    : JSON.stringify(sorted);
  const member = indent ? `,\n${indent}"signatures": ${list}\n}` : `,"signatures":${list}}`;
  const tail = encoder.encode(goEscapes(member));
  const out = new Uint8Array(formatLength + tail.byteLength);
  out.set(payload.subarray(0, formatLength));
  out.set(tail, formatLength);
  return out;
}

/** Where libtrust cuts a payload: after its last member, before the closing brace. */
export function formatLengthFor(payload: Uint8Array): number {
  const space = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  let close = payload.byteLength - 1;
  while (close >= 0 && space(payload[close])) close--;
  if (close < 0 || payload[close] !== 0x7d) throw new Error("the payload does not end with }");
  let last = close - 1;
  while (last >= 0 && space(payload[last])) last--;
  if (last < 0 || payload[last] === 0x2c) throw new Error("the payload ends with a comma");
  return last + 1;
}

/** A key to sign payloads with. */
export interface JwsKey {
  /** The private key (a CryptoKey from jose's `importJWK`). */
  privateKey: CryptoKey;
  /** The public JWK with libtrust's `kid`, as the signature's header carries it. */
  publicJwk: Record<string, unknown>;
  alg: (typeof JWS_ALGORITHMS)[number];
}

/** Signs `payload` as libtrust does (`formatLength`, `formatTail`, `time` protected). */
export async function signJws(
  payload: Uint8Array,
  key: JwsKey,
  time: Date = new Date(),
): Promise<JwsSignature> {
  const formatLength = formatLengthFor(payload);
  const protectedHeader = {
    formatLength,
    formatTail: base64url(payload.subarray(formatLength)),
    time: time.toISOString().replace(/\.\d+Z$/, "Z"),
  };
  const { FlattenedSign } = await import("jose");
  const signed = await new FlattenedSign(payload)
    .setProtectedHeader(protectedHeader as unknown as { alg: string })
    .setUnprotectedHeader({ alg: key.alg, jwk: key.publicJwk })
    .sign(key.privateKey);
  return {
    header: { jwk: key.publicJwk, alg: key.alg },
    signature: signed.signature,
    protected: signed.protected!,
  };
}
