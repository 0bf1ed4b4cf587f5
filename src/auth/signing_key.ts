/**
 * @module
 * The built-in token server's ES256 key and the tokens it signs. The key is created once
 * and kept in the metadata store under `["auth", "signing-key"]`, written with a
 * "must not exist yet" check, so every instance sharing the store (a fleet, a restart)
 * signs with the same key and verifies what the others issued. Its `kid` is the RFC 7638
 * thumbprint of the public key; the public half is published as a JWKS.
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from "jose";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { meta } from "../registry/keys.ts";

/** Berth's own signing key. */
export interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<typeof importJWK>>;
  /** The public JWKS other instances and clients verify with. */
  jwks: { keys: JWK[] };
}

/** The record in the metadata store. */
interface StoredKey {
  kid: string;
  private: JWK;
  public: JWK;
}

const KEY = meta.signingKey();

/** Loads the fleet's signing key from `store`, creating it on first use. */
export async function loadSigningKey(store: MetadataStore): Promise<SigningKey> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = await store.get<StoredKey>(KEY);
    if (found) {
      const { kid, public: pub } = found.value;
      return {
        kid,
        privateKey: await importJWK(found.value.private, "ES256"),
        jwks: { keys: [{ ...pub, kid, alg: "ES256", use: "sig" }] },
      };
    }
    const pair = await generateKeyPair("ES256", { extractable: true });
    const publicJwk = await exportJWK(pair.publicKey);
    const value: StoredKey = {
      kid: await calculateJwkThumbprint(publicJwk),
      private: await exportJWK(pair.privateKey),
      public: publicJwk,
    };
    // Whoever commits first wins; the others read the winner's key on the next pass.
    await store.commit([{ key: KEY, version: null }], [{ type: "set", key: KEY, value }]);
  }
  throw new Error("Could not agree on a token signing key with the metadata store");
}

/** What a signed token says. */
export interface TokenRequest {
  issuer: string;
  audience: string;
  /** User name; null (an empty `sub`) for anonymous callers. */
  subject: string | null;
  /** Lifetime in seconds. */
  ttl: number;
  /** Further claims (`access`, or `typ` and `pwd` of refresh tokens). */
  claims: Record<string, unknown>;
}

/** Signs a token with `key`. */
export async function signToken(
  key: SigningKey,
  request: TokenRequest,
): Promise<{ token: string; issuedAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT(request.claims)
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "JWT" })
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setSubject(request.subject ?? "")
    .setIssuedAt(now)
    .setNotBefore(now - 1)
    .setExpirationTime(now + request.ttl)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
  return { token, issuedAt: new Date(now * 1000) };
}
