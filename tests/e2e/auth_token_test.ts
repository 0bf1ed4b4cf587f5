import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { startAuthRegistry } from "../helpers/auth.ts";
import { assertError } from "../helpers/oci.ts";

const ISSUER = "auth.example.com";
const SERVICE = "registry.example.com";
const PULL = [{ type: "repository", name: "team/app", actions: ["pull"] }];
type Key = Parameters<SignJWT["sign"]>[0];

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

async function sign(
  key: Key,
  alg: string,
  claims: Record<string, unknown> = {},
  opts: { exp?: number; nbf?: number; aud?: string; iss?: string } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ access: PULL, ...claims })
    .setProtectedHeader({ alg })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? SERVICE)
    .setSubject("alice")
    .setIssuedAt(now)
    .setNotBefore(opts.nbf ?? now - 10)
    .setExpirationTime(opts.exp ?? now + 300)
    .sign(key);
}

async function get(url: string, jwt: string) {
  return await fetch(`${url}/v2/team/app/tags/list`, {
    headers: { Authorization: `Bearer ${jwt}` },
  });
}

async function rejected(res: Response, error: string) {
  assert.match(res.headers.get("www-authenticate") ?? "", new RegExp(`error="${error}"`));
  await assertError(res, 401, "UNAUTHORIZED");
}

Deno.test("tokens of an external token server (JWKS)", async (t) => {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const jwks = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    jwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: "ES256" }] }),
  );
  const reg = await startAuthRegistry({
    token: { realm: "https://auth.example.com/token", service: SERVICE, issuer: ISSUER, jwks },
  });
  try {
    await t.step("no token: a challenge naming the scope", async () => {
      const res = await fetch(`${reg.url}/v2/team/app/tags/list`);
      assert.equal(
        res.headers.get("www-authenticate"),
        `Bearer realm="https://auth.example.com/token",service="${SERVICE}",scope="repository:team/app:pull"`,
      );
      await assertError(res, 401, "UNAUTHORIZED");
    });
    await t.step("a valid token passes (404 NAME_UNKNOWN: the repository is empty)", async () => {
      await assertError(await get(reg.url, await sign(privateKey, "ES256")), 404, "NAME_UNKNOWN");
    });
    await t.step("attacks are 401 invalid_token", async () => {
      const now = Math.floor(Date.now() / 1000);
      const none = `${b64url({ alg: "none", typ: "JWT" })}.${
        b64url({ iss: ISSUER, aud: SERVICE, sub: "alice", exp: now + 300, access: PULL })
      }.`;
      await rejected(await get(reg.url, none), "invalid_token");
      // HMAC "signed" with the public key, the classic algorithm confusion.
      const hmacKey = new TextEncoder().encode(JSON.stringify(await exportJWK(publicKey)));
      await rejected(await get(reg.url, await sign(hmacKey, "HS256")), "invalid_token");
      await rejected(await get(reg.url, await sign(other.privateKey, "ES256")), "invalid_token");
      await rejected(
        await get(reg.url, await sign(privateKey, "ES256", {}, { exp: now - 60 })),
        "invalid_token",
      );
      await rejected(
        await get(reg.url, await sign(privateKey, "ES256", {}, { nbf: now + 600 })),
        "invalid_token",
      );
      await rejected(
        await get(reg.url, await sign(privateKey, "ES256", {}, { aud: "other" })),
        "invalid_token",
      );
      await rejected(
        await get(reg.url, await sign(privateKey, "ES256", {}, { iss: "evil" })),
        "invalid_token",
      );
      const [h, , s] = (await sign(privateKey, "ES256")).split(".");
      const tampered = `${h}.${
        b64url({
          iss: ISSUER,
          aud: SERVICE,
          sub: "alice",
          exp: now + 300,
          access: [{ type: "repository", name: "team/app", actions: ["*"] }],
        })
      }.${s}`;
      await rejected(await get(reg.url, tampered), "invalid_token");
      await rejected(await get(reg.url, "not.a.token"), "invalid_token");
    });
    await t.step("a scope for another repository is insufficient_scope", async () => {
      const jwt = await sign(privateKey, "ES256", {
        access: [{ type: "repository", name: "team/other", actions: ["*"] }],
      });
      await rejected(await get(reg.url, jwt), "insufficient_scope");
      const pushOnly = await sign(privateKey, "ES256");
      await rejected(
        await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, {
          method: "POST",
          headers: { Authorization: `Bearer ${pushOnly}` },
        }),
        "insufficient_scope",
      );
    });
    await t.step("tokens never reach the logs", () => {
      assert.ok(reg.logs.some((l) => l.includes('"token rejected"')));
      assert.ok(!reg.logs.some((l) => /eyJ[A-Za-z0-9_-]{10,}/.test(l)));
    });
  } finally {
    await reg.close();
    await Deno.remove(jwks);
  }
});

Deno.test("tokens verified against a rootcertbundle (X.509)", async () => {
  const dir = await Deno.makeTempDir();
  const run = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=token-signer",
    ],
    stderr: "null",
  }).output();
  assert.equal(run.code, 0, "openssl could not make a certificate");
  const key = await importPKCS8(await Deno.readTextFile(`${dir}/key.pem`), "ES256");
  const reg = await startAuthRegistry({
    token: {
      realm: "https://auth/token",
      service: SERVICE,
      issuer: ISSUER,
      rootcertbundle: `${dir}/cert.pem`,
    },
  });
  try {
    await assertError(await get(reg.url, await sign(key, "ES256")), 404, "NAME_UNKNOWN");
    const stranger = await generateKeyPair("ES256");
    await rejected(await get(reg.url, await sign(stranger.privateKey, "ES256")), "invalid_token");
  } finally {
    await reg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokens verified against a JWKS served over HTTP", async () => {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: "RS256", kid: "k1" }] };
  let served = 0;
  const keyServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    served++;
    return Response.json(jwks);
  });
  const reg = await startAuthRegistry({
    token: {
      realm: "https://auth/token",
      service: SERVICE,
      issuer: ISSUER,
      jwks: `http://127.0.0.1:${keyServer.addr.port}/jwks.json`,
    },
  });
  try {
    const signed = await new SignJWT({ access: PULL })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setAudience(SERVICE)
      .setSubject("alice")
      .setExpirationTime("5m")
      .sign(privateKey);
    await assertError(await get(reg.url, signed), 404, "NAME_UNKNOWN");
    assert.ok(served >= 1, "the key set was fetched from the URL");
    await rejected(
      await get(reg.url, await sign((await generateKeyPair("RS256")).privateKey, "RS256")),
      "invalid_token",
    );
  } finally {
    await reg.close();
    await keyServer.shutdown();
  }
});
