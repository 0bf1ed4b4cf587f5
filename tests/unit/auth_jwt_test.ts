import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { chainLeaf, parseBundle } from "../../src/auth/cert_chain.ts";
import { createVerifier } from "../../src/auth/jwt_verify.ts";
import { makePki } from "../helpers/auth.ts";

const OPTS = { issuer: "iss", audience: "aud" };
type Key = Parameters<SignJWT["sign"]>[0];

function sign(key: Key, header: Record<string, unknown>, claims: Record<string, unknown> = {}) {
  return new SignJWT({ access: [], ...claims })
    .setProtectedHeader(header as { alg: string })
    .setIssuer("iss")
    .setAudience("aud")
    .setSubject("alice")
    .setExpirationTime("5m")
    .sign(key);
}

Deno.test("verifier: only asymmetric algorithms can be configured", () => {
  for (const alg of ["HS256", "none", "RSA-OAEP"]) {
    assert.throws(() => createVerifier({ jwks: { keys: [] } }, { ...OPTS, algorithms: [alg] }));
  }
});

Deno.test("verifier: JWKS keys are chosen by kid, type and use", async () => {
  const a = await generateKeyPair("ES256"), b = await generateKeyPair("ES256");
  const ed = await generateKeyPair("EdDSA");
  const jwks = {
    keys: [
      { ...(await exportJWK(a.publicKey)), kid: "a" },
      { ...(await exportJWK(b.publicKey)), kid: "b", use: "enc" },
      { ...(await exportJWK(ed.publicKey)) },
    ],
  };
  const verify = createVerifier({ jwks }, OPTS);
  assert.equal((await verify(await sign(a.privateKey, { alg: "ES256", kid: "a" }))).sub, "alice");
  assert.equal((await verify(await sign(a.privateKey, { alg: "ES256" }))).sub, "alice");
  await assert.rejects(verify(await sign(a.privateKey, { alg: "ES256", kid: "b" })));
  await assert.rejects(verify(await sign(b.privateKey, { alg: "ES256", kid: "b" })), /no trusted/);
  assert.equal((await verify(await sign(ed.privateKey, { alg: "EdDSA" }))).sub, "alice");
  const only = createVerifier({ jwks }, { ...OPTS, algorithms: ["ES256"] });
  await assert.rejects(only(await sign(ed.privateKey, { alg: "EdDSA" })), /not accepted/);
});

Deno.test("verifier: a JWKS URL is cached, and fetched again for an unknown kid after a cool-down", async () => {
  const one = await generateKeyPair("RS256"), two = await generateKeyPair("RS256");
  let keys = [{ ...(await exportJWK(one.publicKey)), kid: "one" }];
  let fetches = 0, failing = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    fetches++;
    return failing ? new Response("down", { status: 503 }) : Response.json({ keys });
  });
  try {
    const verify = createVerifier({ jwksUrl: `http://127.0.0.1:${server.addr.port}/` }, OPTS);
    await verify(await sign(one.privateKey, { alg: "RS256", kid: "one" }));
    await verify(await sign(one.privateKey, { alg: "RS256", kid: "one" }));
    assert.equal(fetches, 1, "cached");
    keys = [...keys, { ...(await exportJWK(two.publicKey)), kid: "two" }];
    // Within the cool-down an unknown kid does not fetch again (no fetch storms)...
    await assert.rejects(verify(await sign(two.privateKey, { alg: "RS256", kid: "two" })));
    assert.equal(fetches, 1);
    // ...after it, the rotated key set is fetched and the new key verifies.
    keys = [{ ...(await exportJWK(one.publicKey)), kid: "one" }];
    const eager = createVerifier({
      jwksUrl: `http://127.0.0.1:${server.addr.port}/`,
      jwksCooldownMs: 0,
    }, OPTS);
    await eager(await sign(one.privateKey, { alg: "RS256", kid: "one" }));
    keys = [{ ...(await exportJWK(two.publicKey)), kid: "two" }];
    assert.equal(
      (await eager(await sign(two.privateKey, { alg: "RS256", kid: "two" }))).sub,
      "alice",
    );
    assert.equal(fetches, 3);
    // A key server that fails keeps the keys already known.
    failing = true;
    await assert.rejects(eager(await sign(one.privateKey, { alg: "RS256", kid: "three" })));
    assert.equal(
      (await eager(await sign(two.privateKey, { alg: "RS256", kid: "two" }))).sub,
      "alice",
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("certificate bundles: a token signed by a bundle certificate's key", async (t) => {
  const pki = await makePki();
  try {
    const roots = parseBundle(await Deno.readTextFile(pki.rootPem));
    const verify = createVerifier({ certificates: roots }, OPTS);
    const rootKey = await importPKCS8(pki.rootKey, "ES256");
    const leafKey = (alg: string) => importPKCS8(pki.leafKey, alg);

    await t.step("signed by the root's own key, with or without a kid", async () => {
      assert.equal((await verify(await sign(rootKey, { alg: "ES256" }))).sub, "alice");
      assert.equal((await verify(await sign(rootKey, { alg: "ES256", kid: "X:Y" }))).sub, "alice");
    });
    await t.step(
      "an x5c chain (leaf, intermediate) up to the root, any RSA algorithm",
      async () => {
        for (const alg of ["RS256", "RS384", "PS256", "PS512"]) {
          const jwt = await sign(await leafKey(alg), { alg, x5c: pki.x5c });
          assert.equal((await verify(jwt)).sub, "alice", alg);
        }
      },
    );
    await t.step("the leaf's key without its chain is not trusted", async () => {
      await assert.rejects(verify(await sign(await leafKey("RS256"), { alg: "RS256" })));
    });
    await t.step("chains that do not lead to the bundle are refused", async () => {
      const stranger = await importPKCS8(pki.stranger.key, "ES256");
      await assert.rejects(
        verify(await sign(stranger, { alg: "ES256", x5c: pki.stranger.x5c })),
        /does not lead to a certificate of the bundle/,
      );
      const forged = await importPKCS8(pki.forged.key, "ES256");
      await assert.rejects(
        verify(await sign(forged, { alg: "ES256", x5c: [...pki.forged.x5c, pki.x5c[1]] })),
        /is not issued by the next/,
        "a leaf cannot issue certificates",
      );
      await assert.rejects(
        verify(await sign(forged, { alg: "ES256", x5c: pki.x5c })),
        "a good chain with another key's signature",
      );
      await assert.rejects(
        verify(await sign(await leafKey("RS256"), { alg: "RS256", x5c: [pki.x5c[0]] })),
        /does not lead/,
        "the intermediate is needed",
      );
      await assert.rejects(
        verify(await sign(rootKey, { alg: "ES256", x5c: ["not base64!"] })),
        /not a list of base64 certificates/,
      );
    });
    await t.step("x5c without a bundle is refused", async () => {
      const jwksOnly = createVerifier({ jwks: { keys: [] } }, OPTS);
      await assert.rejects(
        jwksOnly(await sign(await leafKey("RS256"), { alg: "RS256", x5c: pki.x5c })),
        /need a rootcertbundle/,
      );
    });
    await t.step("certificates outside their validity period are refused", () => {
      const later = new Date(Date.now() + 3 * 86400_000);
      assert.throws(() => chainLeaf(pki.x5c, roots, later), /is not valid now/);
      const earlier = new Date(Date.now() - 86400_000);
      assert.throws(() => chainLeaf(pki.x5c, roots, earlier), /is not valid now/);
      const leaf = chainLeaf(pki.x5c, roots);
      assert.ok(leaf instanceof X509Certificate);
      assert.equal(leaf.subject, "CN=token-signer");
      assert.ok(leaf.raw.equals(Buffer.from(pki.x5c[0], "base64")));
    });
  } finally {
    await pki.remove();
  }
});
