/**
 * @module
 * JSON Web Tokens of the Docker token spec: Berth's own ES256 signing key (created once
 * and kept in the metadata store, so every instance of a fleet signs and verifies with
 * the same key), issuing, and verification against that key, a certificate bundle
 * (`rootcertbundle`) or a JWKS.
 */
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  importX509,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { AccessEntry } from "./scope.ts";

/** Asymmetric algorithms accepted in tokens; `none` and HMAC never are. */
export const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

/** The claims Berth reads from a verified token. */
export interface TokenClaims extends JWTPayload {
  access?: AccessEntry[];
  /** "refresh" for refresh tokens (never accepted as access tokens). */
  typ?: string;
}

/** Verifies a token's signature and its `iss`, `aud`, `exp` and `nbf`. */
export type Verify = (token: string) => Promise<TokenClaims>;

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

/** Berth's own signing key. */
export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  /** The public JWKS other instances and clients can verify with. */
  jwks: { keys: JWK[] };
}

const KEY = ["auth", "signing-key"];

/** Loads the fleet's signing key from `store`, creating it on first use. */
export async function signingKey(store: MetadataStore): Promise<SigningKey> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = await store.get<{ kid: string; private: JWK; public: JWK }>(KEY);
    if (found) {
      return {
        kid: found.value.kid,
        privateKey: await importJWK(found.value.private, "ES256"),
        jwks: { keys: [{ ...found.value.public, kid: found.value.kid, alg: "ES256", use: "sig" }] },
      };
    }
    const pair = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const value = { kid, private: await exportJWK(pair.privateKey), public: publicJwk };
    await store.commit([{ key: KEY, version: null }], [{ type: "set", key: KEY, value }]);
  }
  throw new Error("Could not agree on a token signing key with the metadata store");
}

/** Signs a token for `subject` (null: anonymous) with `access`, valid `ttl` seconds. */
export async function issueToken(
  key: SigningKey,
  claims: { issuer: string; audience: string; subject: string | null; ttl: number },
  extra: Record<string, unknown>,
): Promise<{ token: string; issuedAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT(extra)
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
    .setIssuer(claims.issuer)
    .setAudience(claims.audience)
    .setSubject(claims.subject ?? "")
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + claims.ttl)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
  return { token, issuedAt: new Date(now * 1000) };
}

/** Where verification keys come from. */
export type KeySource =
  | { kind: "jwks"; jwks: { keys: JWK[] } }
  | { kind: "jwks-url"; url: string }
  | { kind: "certificates"; pems: string[] };

/** A verifier for tokens of `issuer` for `audience`, signed by a key of `source`. */
export async function verifier(
  source: KeySource,
  issuer: string,
  audience: string,
): Promise<Verify> {
  const options = { issuer, audience, algorithms: ALGORITHMS, clockTolerance: 5 };
  if (source.kind === "jwks") {
    const set = createLocalJWKSet(source.jwks);
    return async (token) => (await jwtVerify(token, set, options)).payload as TokenClaims;
  }
  if (source.kind === "jwks-url") {
    const set = createRemoteJWKSet(new URL(source.url));
    return async (token) => (await jwtVerify(token, set, options)).payload as TokenClaims;
  }
  // A certificate bundle: try the key of every certificate (token servers sign with the
  // key of one of them; `kid` formats differ between servers, so they are not relied on).
  const keys: { alg: string; key: KeyLike }[] = [];
  for (const pem of source.pems) {
    for (const alg of ["RS256", "ES256", "ES384", "ES512", "PS256", "EdDSA"]) {
      try {
        keys.push({ alg, key: await importX509(pem, alg) });
        break;
      } catch { /* not this algorithm family */ }
    }
  }
  if (!keys.length) throw new Error("No usable public key in the certificate bundle");
  return async (token) => {
    let last: unknown;
    for (const { key } of keys) {
      try {
        return (await jwtVerify(token, key, options)).payload as TokenClaims;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };
}

/** Splits a PEM bundle into its certificates. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
