/**
 * @module
 * The key Berth signs converted schema 1 manifests with: the private key of
 * `compatibility.schema1.signingkeyfile` (PEM: PKCS#8, SEC 1 or PKCS#1, libtrust's headers
 * allowed; or a JWK, the `key.json` libtrust writes), or else an ES256 key generated once
 * and kept in the metadata store under `["config", "schema1-signing-key"]`, written with a
 * "must not exist yet" check so every instance sharing the store signs with the same key.
 */
import { createPrivateKey } from "node:crypto";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { ConfigError } from "../config/mod.ts";
import { type JwsKey, libtrustKeyId } from "../oci/manifests/jws.ts";
import { meta } from "../registry/keys.ts";

const SETTING = "compatibility.schema1.signingkeyfile";
const CURVES: Record<string, JwsKey["alg"]> = {
  "P-256": "ES256",
  "P-384": "ES384",
  "P-521": "ES512",
};

/**
 * A signing key from a private JWK (EC or RSA). An EC key's curve decides its algorithm;
 * an RSA key signs with RS256, as libtrust's do, unless `rsaAlg` says otherwise.
 */
export async function keyFromJwk(
  jwk: Record<string, unknown>,
  rsaAlg: "RS256" | "RS384" | "RS512" = "RS256",
): Promise<JwsKey> {
  const alg = jwk.kty === "RSA" ? rsaAlg : CURVES[String(jwk.crv)];
  if (!alg || typeof jwk.d !== "string") {
    throw new Error("the key is neither an EC (P-256, P-384, P-521) nor an RSA private key");
  }
  const { importJWK } = await import("jose");
  const publicJwk: Record<string, unknown> = jwk.kty === "RSA"
    ? { e: jwk.e, kty: "RSA", n: jwk.n }
    : { crv: jwk.crv, kty: "EC", x: jwk.x, y: jwk.y };
  publicJwk.kid = libtrustKeyId(publicJwk);
  const { kid: _kid, ...privateJwk } = jwk;
  const privateKey = await importJWK(privateJwk, alg) as CryptoKey;
  return { privateKey, publicJwk: sortKeys(publicJwk), alg };
}

function sortKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]));
}

/** Reads the key file `path`; a {@linkcode ConfigError} naming the setting when it cannot. */
export async function readKeyFile(
  path: string,
  readTextFile: (path: string) => Promise<string> = Deno.readTextFile,
): Promise<JwsKey> {
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (err) {
    throw new ConfigError(SETTING, `"${path}" cannot be read: ${(err as Error).message}`);
  }
  try {
    if (text.trimStart().startsWith("{")) return await keyFromJwk(JSON.parse(text));
    // libtrust writes headers (`keyID: ...`, then a blank line) inside the PEM block;
    // node's parser takes neither.
    const pem = text.split(/\r?\n/).filter((l) => l.trim() !== "" && !/^[A-Za-z-]+: /.test(l))
      .join("\n");
    const jwk = createPrivateKey(pem).export({ format: "jwk" }) as Record<string, unknown>;
    return await keyFromJwk(jwk);
  } catch (err) {
    throw new ConfigError(
      SETTING,
      `"${path}" holds no usable private key: ${(err as Error).message}`,
    );
  }
}

/** Loads the fleet's generated key from `store`, creating it on first use. */
export async function sharedKey(store: MetadataStore): Promise<JwsKey> {
  const key = meta.schema1SigningKey();
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = await store.get<Record<string, unknown>>(key);
    if (found) return await keyFromJwk(found.value);
    const { exportJWK, generateKeyPair } = await import("jose");
    const pair = await generateKeyPair("ES256", { extractable: true });
    const value = await exportJWK(pair.privateKey) as Record<string, unknown>;
    // Whoever commits first wins; the others read the winner's key on the next pass.
    await store.commit([{ key, version: null }], [{ type: "set", key, value }]);
  }
  throw new Error("Could not agree on a schema 1 signing key with the metadata store");
}
