import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { makePki, startAuthRegistry } from "../helpers/auth.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

const ISSUER = "auth.example.com";
const SERVICE = "registry.example.com";
const REALM = "https://auth.example.com/token";
const PULL = [{ type: "repository", name: "team/app", actions: ["pull"] }];
type Key = Parameters<SignJWT["sign"]>[0];

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

interface SignOptions {
  exp?: number;
  nbf?: number;
  aud?: string;
  iss?: string;
  header?: Record<string, unknown>;
}

async function sign(key: Key, alg: string, claims: object = {}, opts: SignOptions = {}) {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ access: PULL, ...claims })
    .setProtectedHeader({ alg, ...opts.header })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? SERVICE)
    .setSubject("alice")
    .setIssuedAt(now)
    .setNotBefore(opts.nbf ?? now - 10)
    .setExpirationTime(opts.exp ?? now + 300)
    .sign(key);
}

function get(url: string, jwt: string, path = "/v2/team/app/tags/list") {
  return fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${jwt}` } });
}

/** A token the registry accepted: the empty repository answers NAME_UNKNOWN. */
async function accepted(res: Response) {
  await assertError(res, 404, "NAME_UNKNOWN");
}

async function rejected(res: Response, error: string) {
  assert.match(res.headers.get("www-authenticate") ?? "", new RegExp(`,error="${error}"$`));
  await assertError(res, 401, "UNAUTHORIZED");
}

Deno.test("tokens of an external token server (JWKS file)", async (t) => {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const jwks = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    jwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), alg: "ES256" }] }),
  );
  const reg = await startAuthRegistry({
    token: { realm: REALM, service: SERVICE, issuer: ISSUER, jwks },
  });
  try {
    await t.step("no token: a challenge naming the exact scope", async () => {
      const res = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: "POST" });
      assert.equal(
        res.headers.get("www-authenticate"),
        `Bearer realm="${REALM}",service="${SERVICE}",scope="repository:team/app:pull,push"`,
      );
      await assertError(res, 401, "UNAUTHORIZED");
      const base = await fetch(`${reg.url}/v2/`);
      assert.equal(
        base.headers.get("www-authenticate"),
        `Bearer realm="${REALM}",service="${SERVICE}"`,
      );
      await assertError(base, 401, "UNAUTHORIZED");
      const basic = await fetch(`${reg.url}/v2/`, { headers: { Authorization: "Basic YTpi" } });
      await assertError(basic, 401, "UNAUTHORIZED");
    });
    await t.step("a valid token passes", async () => {
      await accepted(await get(reg.url, await sign(privateKey, "ES256")));
      const base = await get(reg.url, await sign(privateKey, "ES256", { access: [] }), "/v2/");
      assert.equal(base.status, 200, "any valid token signs in at /v2/");
      await base.body?.cancel();
    });
    await t.step("attacks are 401 invalid_token", async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: ISSUER, aud: SERVICE, sub: "alice", exp: now + 300, access: PULL };
      const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
      await rejected(await get(reg.url, none), "invalid_token");
      // HMAC "signed" with the public key: the classic algorithm confusion.
      for (const secret of [JSON.stringify(await exportJWK(publicKey)), "secret"]) {
        const hmac = await sign(new TextEncoder().encode(secret), "HS256");
        await rejected(await get(reg.url, hmac), "invalid_token");
      }
      await rejected(await get(reg.url, await sign(other.privateKey, "ES256")), "invalid_token");
      const cases: SignOptions[] = [
        { exp: now - 60 },
        { nbf: now + 600 },
        { aud: "other.example.com" },
        { iss: "evil.example.com" },
      ];
      for (const opts of cases) {
        await rejected(
          await get(reg.url, await sign(privateKey, "ES256", {}, opts)),
          "invalid_token",
        );
      }
      const [h, , s] = (await sign(privateKey, "ES256")).split(".");
      const all = [{ type: "repository", name: "team/app", actions: ["*"] }];
      const tampered = `${h}.${b64url({ ...claims, access: all })}.${s}`;
      await rejected(await get(reg.url, tampered), "invalid_token");
      // A key of the token's own choosing (an embedded jwk) is never trusted.
      const embedded = await sign(other.privateKey, "ES256", {}, {
        header: { jwk: await exportJWK(other.publicKey) },
      });
      await rejected(await get(reg.url, embedded), "invalid_token");
      for (const junk of ["not.a.token", "x", `${h}.${b64url(claims)}`]) {
        await rejected(await get(reg.url, junk), "invalid_token");
      }
    });
    await t.step("a scope for another repository or action is insufficient_scope", async () => {
      const elsewhere = await sign(privateKey, "ES256", {
        access: [{ type: "repository", name: "team/other", actions: ["*"] }],
      });
      await rejected(await get(reg.url, elsewhere), "insufficient_scope");
      const pullOnly = await sign(privateKey, "ES256");
      const res = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: `Bearer ${pullOnly}` },
      });
      assert.equal(
        res.headers.get("www-authenticate"),
        `Bearer realm="${REALM}",service="${SERVICE}",scope="repository:team/app:pull,push",error="insufficient_scope"`,
      );
      await assertError(res, 401, "UNAUTHORIZED");
      await rejected(await get(reg.url, pullOnly, "/v2/_catalog"), "insufficient_scope");
    });
    await t.step("push, pull, catalog and delete with the scopes they need", async () => {
      const data = randomBytes(512);
      const all = await sign(privateKey, "ES256", {
        access: [
          { type: "repository", name: "team/app", actions: ["pull", "push"] },
          { type: "registry", name: "catalog", actions: ["*"] },
        ],
      });
      const push = await fetch(`${reg.url}/v2/team/app/blobs/uploads/?digest=${sha256(data)}`, {
        method: "POST",
        body: data as BodyInit,
        headers: { Authorization: `Bearer ${all}` },
      });
      assert.equal(push.status, 201);
      const pull = await get(
        reg.url,
        await sign(privateKey, "ES256"),
        `/v2/team/app/blobs/${sha256(data)}`,
      );
      assert.deepEqual(await pull.bytes(), data);
      const catalog = await get(reg.url, all, "/v2/_catalog");
      assert.deepEqual(await catalog.json(), { repositories: ["team/app"] });
      const blob = `/v2/team/app/blobs/${sha256(data)}`;
      const del = (jwt: string) =>
        fetch(`${reg.url}${blob}`, {
          method: "DELETE",
          headers: { Authorization: `Bearer ${jwt}` },
        });
      await rejected(await del(all), "insufficient_scope");
      const deleter = await sign(privateKey, "ES256", {
        access: [{ type: "repository", name: "team/app", actions: ["delete"] }],
      });
      assert.equal((await del(deleter)).status, 202);
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

Deno.test("token forgeries are slowed down; stale, misdirected and valid tokens are not", async () => {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const other = await generateKeyPair("ES256");
  const jwks = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(jwks, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
  const reg = await startAuthRegistry({
    token: { realm: REALM, service: SERVICE, issuer: ISSUER, jwks },
  });
  try {
    const now = Math.floor(Date.now() / 1000);
    const stale = [{ exp: now - 60 }, { nbf: now + 600 }, { aud: "elsewhere" }];
    for (let i = 0; i < 5; i++) {
      for (const opts of stale) {
        await rejected(
          await get(reg.url, await sign(privateKey, "ES256", {}, opts)),
          "invalid_token",
        );
      }
    }
    const forged = await sign(other.privateKey, "ES256");
    let last: Response | undefined;
    for (let i = 0; i < 12; i++) {
      last = await get(reg.url, forged);
      if (last.status === 429) break;
      await last.body?.cancel();
    }
    assert.equal(last!.status, 429, "the eleventh forgery");
    assert.ok(Number(last!.headers.get("retry-after")) > 0);
    await assertError(last!, 429, "TOOMANYREQUESTS");
    await accepted(await get(reg.url, await sign(privateKey, "ES256")));
    assert.ok(reg.logs.some((l) => l.includes('"token rejected"') && l.includes("127.0.0.1")));
  } finally {
    await reg.close();
    await Deno.remove(jwks);
  }
});

Deno.test("tokens verified against a rootcertbundle (X.509, x5c chains)", async (t) => {
  const pki = await makePki();
  const reg = await startAuthRegistry({
    token: { realm: REALM, service: SERVICE, issuer: ISSUER, rootcertbundle: pki.rootPem },
  });
  try {
    await t.step("signed with the key of a bundle certificate", async () => {
      await accepted(
        await get(reg.url, await sign(await importPKCS8(pki.rootKey, "ES256"), "ES256")),
      );
    });
    await t.step("signed by a leaf whose x5c chain leads to the bundle", async () => {
      for (const alg of ["RS256", "PS384"]) {
        const key = await importPKCS8(pki.leafKey, alg);
        await accepted(await get(reg.url, await sign(key, alg, {}, { header: { x5c: pki.x5c } })));
      }
    });
    await t.step("other keys and chains are refused", async () => {
      const leaf = await importPKCS8(pki.leafKey, "RS256");
      await rejected(await get(reg.url, await sign(leaf, "RS256")), "invalid_token");
      const stranger = await importPKCS8(pki.stranger.key, "ES256");
      const x5c = { header: { x5c: pki.stranger.x5c } };
      await rejected(await get(reg.url, await sign(stranger, "ES256", {}, x5c)), "invalid_token");
      const forged = await importPKCS8(pki.forged.key, "ES256");
      for (const chain of [pki.x5c, [...pki.forged.x5c, pki.x5c[1]]]) {
        const jwt = await sign(forged, "ES256", {}, { header: { x5c: chain } });
        await rejected(await get(reg.url, jwt), "invalid_token");
      }
      const stray = await generateKeyPair("ES256");
      await rejected(await get(reg.url, await sign(stray.privateKey, "ES256")), "invalid_token");
    });
  } finally {
    await reg.close();
    await pki.remove();
  }
});

Deno.test("tokens verified against a JWKS served over HTTP, signingalgorithms", async () => {
  const rsa = await generateKeyPair("RS256");
  const ec = await generateKeyPair("ES256");
  const jwks = {
    keys: [
      { ...(await exportJWK(rsa.publicKey)), alg: "RS256", kid: "k1" },
      { ...(await exportJWK(ec.publicKey)), kid: "k2" },
    ],
  };
  let served = 0;
  const keyServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    served++;
    return Response.json(jwks);
  });
  const reg = await startAuthRegistry({
    token: {
      realm: REALM,
      service: SERVICE,
      issuer: ISSUER,
      jwks: `http://127.0.0.1:${keyServer.addr.port}/jwks.json`,
      signingalgorithms: ["RS256"],
    },
  });
  try {
    const kid = (k: string) => ({ header: { kid: k } });
    await accepted(await get(reg.url, await sign(rsa.privateKey, "RS256", {}, kid("k1"))));
    assert.ok(served >= 1, "the key set was fetched from the URL");
    await rejected(
      await get(reg.url, await sign(ec.privateKey, "ES256", {}, kid("k2"))),
      "invalid_token",
    );
    const stranger = await generateKeyPair("RS256");
    await rejected(
      await get(reg.url, await sign(stranger.privateKey, "RS256", {}, kid("k1"))),
      "invalid_token",
    );
  } finally {
    await reg.close();
    await keyServer.shutdown();
  }
});

Deno.test("autoredirect: the challenge names the token path on the host the client used", async () => {
  const { publicKey } = await generateKeyPair("ES256");
  const jwks = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(jwks, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
  const reg = await startAuthRegistry({
    token: { service: SERVICE, issuer: ISSUER, jwks, autoredirect: true },
  });
  try {
    const res = await fetch(`${reg.url}/v2/`, { headers: { "X-Forwarded-Proto": "http" } });
    assert.equal(
      res.headers.get("www-authenticate"),
      `Bearer realm="http://${reg.host}/auth/token",service="${SERVICE}"`,
    );
    await assertError(res, 401, "UNAUTHORIZED");
    const https = await fetch(`${reg.url}/v2/`);
    assert.match(https.headers.get("www-authenticate")!, new RegExp(`realm="https://${reg.host}/`));
    await https.body?.cancel();
  } finally {
    await reg.close();
    await Deno.remove(jwks);
  }
});
