/**
 * @module
 * Verification of Bearer tokens (JWTs of the Docker token spec). The signature must come
 * from a key Berth trusts: a key of a JWKS (a file, a URL, or Berth's own), the key of a
 * certificate of `rootcertbundle`, or the signing certificate of an `x5c` chain that leads
 * to one. Then `iss`, `aud`, `exp` and `nbf` are checked. Only asymmetric algorithms are
 * accepted: `alg: none` and HMAC never are, so a public key can never double as a secret.
 */
import {
  decodeProtectedHeader,
  importJWK,
  importX509,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";
import type { X509Certificate } from "node:crypto";
import { chainLeaf } from "./cert_chain.ts";

/** The asymmetric algorithms tokens may be signed with. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
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
  "Ed25519",
];

/** The claims Berth reads from a verified token. */
export interface TokenClaims extends JWTPayload {
  /** The Docker token spec's grants: `[{type, name, actions}]`. */
  access?: unknown;
  /** "refresh" on Berth's refresh tokens, which are never access tokens. */
  typ?: string;
  /** Berth's refresh tokens: fingerprint of the password they were issued for. */
  pwd?: string;
}

/** Verifies a token; throws (a `jose` error or an `Error`) saying why it is refused. */
export type Verify = (token: string) => Promise<TokenClaims>;

/** Where the trusted keys come from; at least one member must be set. */
export interface KeySources {
  /** A JWKS held in memory (a file read at start-up, or Berth's own keys). */
  jwks?: { keys: JWK[] };
  /** A JWKS fetched over HTTP(S), cached and fetched again for an unknown `kid`. */
  jwksUrl?: string;
  /** Least time between two fetches of `jwksUrl` for unknown `kid`s (default 30 s). */
  jwksCooldownMs?: number;
  /** The certificates of `rootcertbundle`. */
  certificates?: X509Certificate[];
}

/** What a token must say besides its signature. */
export interface VerifyOptions {
  issuer: string;
  audience: string;
  /** Accepted algorithms, a subset of {@linkcode ASYMMETRIC_ALGORITHMS} (default: all). */
  algorithms?: readonly string[];
}

/** Errors after which the signature was good: the token is refused without trying more keys. */
const CLAIM_ERRORS = new Set(["ERR_JWT_EXPIRED", "ERR_JWT_CLAIM_VALIDATION_FAILED"]);
/** How long a fetched JWKS is used before it is fetched again. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** Fetches triggered by an unknown `kid` happen at most this often. */
const JWKS_COOLDOWN_MS = 30_000;

type Key = Awaited<ReturnType<typeof importJWK>>;

/** Keys of a JWKS URL, fetched when first needed and again when stale or asked for. */
class RemoteJwks {
  #keys: JWK[] = [];
  #fetchedAt = 0;
  #pending: Promise<void> | null = null;

  constructor(private readonly url: string, private readonly cooldownMs: number) {}

  async keys(kid: string | undefined): Promise<JWK[]> {
    const age = Date.now() - this.#fetchedAt;
    const unknownKid = !this.#keys.length ||
      (kid !== undefined && !this.#keys.some((k) => k.kid === kid));
    if (age > JWKS_MAX_AGE_MS || (unknownKid && age >= this.cooldownMs)) {
      this.#pending ??= this.#fetch().finally(() => this.#pending = null);
      await this.#pending;
    }
    return this.#keys;
  }

  async #fetch(): Promise<void> {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const body = await res.json();
      if (!Array.isArray(body?.keys)) throw new Error("no keys member");
      this.#keys = body.keys;
    } catch (err) {
      // Keep the keys we had; without any, every token is refused (never accepted).
      if (!this.#keys.length) {
        throw new Error(`the JWKS at ${this.url} cannot be fetched: ${(err as Error).message}`);
      }
    } finally {
      this.#fetchedAt = Date.now();
    }
  }
}

/** Key types an algorithm can be verified with. */
function ktyOf(alg: string): string {
  if (alg.startsWith("RS") || alg.startsWith("PS")) return "RSA";
  if (alg.startsWith("ES")) return "EC";
  return "OKP";
}

/** A verifier for tokens of `options.issuer` for `options.audience`, signed by a key of `sources`. */
export function createVerifier(sources: KeySources, options: VerifyOptions): Verify {
  const algorithms = [...(options.algorithms ?? ASYMMETRIC_ALGORITHMS)];
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) throw new Error(`"${alg}" is not accepted`);
  }
  const certificates = sources.certificates ?? [];
  const remote = sources.jwksUrl
    ? new RemoteJwks(sources.jwksUrl, sources.jwksCooldownMs ?? JWKS_COOLDOWN_MS)
    : null;
  // Imports `source` for `alg` once; null when the key cannot verify that algorithm. Weak:
  // the keys of a JWKS fetched again are new objects, and the old ones must not pile up.
  const imported = new WeakMap<object, Map<string, Promise<Key | null>>>();
  const load = (source: JWK | X509Certificate, alg: string): Promise<Key | null> => {
    let byAlg = imported.get(source);
    if (!byAlg) imported.set(source, byAlg = new Map());
    let key = byAlg.get(alg);
    if (!key) {
      key = ("kty" in source ? importJWK(source, alg) : importX509(source.toString(), alg))
        .then((k) => k as Key, () => null);
      byAlg.set(alg, key);
    }
    return key;
  };

  const candidates = async (header: ProtectedHeaderParameters): Promise<Key[]> => {
    const alg = header.alg!;
    if (header.x5c !== undefined) {
      if (!certificates.length) throw new Error("x5c chains need a rootcertbundle");
      const key = await importX509(chainLeaf(header.x5c, certificates).toString(), alg);
      return [key as Key];
    }
    const jwks = [...(sources.jwks?.keys ?? []), ...(remote ? await remote.keys(header.kid) : [])]
      .filter((k) =>
        k.kty === ktyOf(alg) && (k.use === undefined || k.use === "sig") &&
        (k.alg === undefined || k.alg === alg) && (!header.kid || !k.kid || k.kid === header.kid)
      );
    // Certificates are all tried: token servers name them by `kid`s in several formats.
    const keys = await Promise.all([...jwks, ...certificates].map((s) => load(s, alg)));
    return keys.filter((k): k is Key => k !== null);
  };

  const claimOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms,
    clockTolerance: 5,
  };
  return async (token) => {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== "string" || !algorithms.includes(header.alg)) {
      throw new Error(`algorithm ${JSON.stringify(header.alg)} is not accepted`);
    }
    const keys = await candidates(header);
    if (!keys.length) throw new Error("no trusted key fits the token");
    let last: unknown;
    for (const key of keys) {
      try {
        return (await jwtVerify(token, key, claimOptions)).payload as TokenClaims;
      } catch (err) {
        if (CLAIM_ERRORS.has((err as { code?: string }).code ?? "")) throw err;
        last = err;
      }
    }
    throw last;
  };
}

/**
 * True when `err` refused a token whose signature was good (expired, not yet valid, for
 * another audience or issuer): a stale or misdirected token, not a forgery.
 */
export function signatureWasValid(err: unknown): boolean {
  return CLAIM_ERRORS.has((err as { code?: string })?.code ?? "");
}
