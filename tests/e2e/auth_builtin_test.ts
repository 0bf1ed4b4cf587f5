import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

const POLICY = {
  rules: [
    { users: ["alice"], repositories: ["team/**"], actions: ["*"] },
    { users: ["bob"], repositories: ["team/**"], actions: ["pull"] },
    { anonymous: true, repositories: ["public/**"], actions: ["pull"] },
    { users: ["alice"], repositories: ["public/**"], actions: ["pull", "push"] },
  ],
  catalog: { users: ["alice"] },
};

function challenge(res: Response): Record<string, string> {
  const header = res.headers.get("www-authenticate") ?? "";
  assert.match(header, /^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

async function token(url: string, scope: string[], headers: Record<string, string> = {}) {
  const q = new URLSearchParams({ service: "berth" });
  for (const s of scope) q.append("scope", s);
  const res = await fetch(`${url}/token?${q}`, { headers });
  const body = await res.json();
  return { status: res.status, body, token: body.token as string };
}

function claims(jwt: string) {
  return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}

Deno.test("the built-in token server", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland", bob: "builder" });
  const store = new MemoryMetadataStore();
  const driver = new MemoryBlobDriver();
  const auth = { htpasswd: { path }, builtin: { expiration: 120 }, policy: POLICY };
  const reg = await startAuthRegistry(auth, { store, driver });
  const data = randomBytes(2000);
  const push = (bearer: string) =>
    fetch(`${reg.url}/v2/team/app/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      body: data as BodyInit,
      headers: { Authorization: `Bearer ${bearer}` },
    });
  try {
    await t.step("challenges name the realm, service and the exact scope", async () => {
      const base = await fetch(`${reg.url}/v2/`);
      assert.deepEqual(challenge(base), { realm: `${reg.url}/token`, service: "berth" });
      await assertError(base, 401, "UNAUTHORIZED");
      const res = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: "POST" });
      assert.equal(challenge(res).scope, "repository:team/app:pull,push");
      await res.body?.cancel();
    });
    let aliceToken = "";
    await t.step("GET /token with Basic gives a token with the granted scopes", async () => {
      const r = await token(
        reg.url,
        ["repository:team/app:pull,push"],
        basic("alice", "wonderland"),
      );
      assert.equal(r.status, 200);
      assert.equal(r.body.access_token, r.token);
      assert.equal(r.body.expires_in, 120);
      assert.ok(Date.parse(r.body.issued_at) <= Date.now());
      const c = claims(r.token);
      assert.equal(c.sub, "alice");
      assert.equal(c.aud, "berth");
      assert.deepEqual(c.access, [{
        type: "repository",
        name: "team/app",
        actions: ["pull", "push"],
      }]);
      aliceToken = r.token;
      assert.equal(
        (await fetch(`${reg.url}/v2/`, { headers: { Authorization: `Bearer ${r.token}` } })).status,
        200,
      );
      assert.equal((await push(r.token)).status, 201);
    });
    await t.step("granted scopes are what was asked intersected with the policy", async () => {
      const r = await token(reg.url, [
        "repository:team/app:pull,push,delete",
        "repository:secret/x:pull",
      ], basic("bob", "builder"));
      assert.deepEqual(claims(r.token).access, [{
        type: "repository",
        name: "team/app",
        actions: ["pull"],
      }]);
      const res = await push(r.token);
      assert.equal(challenge(res).error, "insufficient_scope");
      await assertError(res, 401, "UNAUTHORIZED");
      const pull = await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, {
        headers: { Authorization: `Bearer ${r.token}` },
      });
      assert.equal(pull.status, 200);
      await pull.body?.cancel();
    });
    await t.step("a token for one repository does not open another", async () => {
      const res = await fetch(`${reg.url}/v2/team/other/tags/list`, {
        headers: { Authorization: `Bearer ${aliceToken}` },
      });
      assert.equal(challenge(res).error, "insufficient_scope");
      await assertError(res, 401, "UNAUTHORIZED");
    });
    await t.step("anonymous callers get what the policy grants anonymous, no more", async () => {
      const anon = await token(reg.url, [
        "repository:public/tool:pull,push",
        "repository:team/app:pull",
      ]);
      assert.equal(anon.status, 200);
      assert.deepEqual(claims(anon.token).access, [{
        type: "repository",
        name: "public/tool",
        actions: ["pull"],
      }]);
      assert.equal(claims(anon.token).sub, "");
    });
    await t.step("wrong passwords are refused and logged without secrets", async () => {
      const r = await token(reg.url, [], basic("alice", "guess"));
      assert.equal(r.status, 401);
      assert.ok(reg.logs.some((l) => l.includes('"login failed"') && l.includes('"user":"alice"')));
      assert.ok(!reg.logs.some((l) => l.includes("wonderland") || l.includes(aliceToken)));
    });
    await t.step("OAuth2 POST: password grant with a refresh token, then refresh", async () => {
      const form = new URLSearchParams({
        grant_type: "password",
        username: "alice",
        password: "wonderland",
        service: "berth",
        client_id: "test",
        access_type: "offline",
        scope: "repository:team/app:pull",
      });
      const res = await fetch(`${reg.url}/token`, { method: "POST", body: form });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.ok(body.refresh_token);
      assert.deepEqual(claims(body.access_token).access[0].actions, ["pull"]);
      // A refresh token is not an access token.
      await assertError(
        await fetch(`${reg.url}/v2/`, {
          headers: { Authorization: `Bearer ${body.refresh_token}` },
        }),
        401,
        "UNAUTHORIZED",
      );
      const refreshed = await fetch(`${reg.url}/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: body.refresh_token,
          scope: "repository:team/app:push",
        }),
      });
      assert.equal(refreshed.status, 200);
      const again = await refreshed.json();
      assert.deepEqual(claims(again.access_token).access[0].actions, ["push"]);
      const bad = await fetch(`${reg.url}/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: aliceToken }),
      });
      assert.equal(bad.status, 401);
      await bad.body?.cancel();
      const unknown = await fetch(`${reg.url}/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "magic" }),
      });
      assert.equal(unknown.status, 400);
      await unknown.body?.cancel();
    });
    await t.step(
      "the JWKS is published, and another instance sharing the store accepts the tokens",
      async () => {
        const jwks = await (await fetch(`${reg.url}/token/jwks.json`)).json();
        assert.equal(jwks.keys.length, 1);
        assert.equal(jwks.keys[0].kty, "EC");
        assert.equal(jwks.keys[0].d, undefined, "no private part");
        const second = await startAuthRegistry(auth, { store, driver });
        try {
          const res = await fetch(`${second.url}/v2/team/app/blobs/${sha256(data)}`, {
            headers: { Authorization: `Bearer ${aliceToken}` },
          });
          assert.equal(res.status, 200);
          await res.body?.cancel();
        } finally {
          await second.close();
        }
      },
    );
    await t.step(
      "the catalog needs registry:catalog:* and lists what the caller can see",
      async () => {
        const r = await token(reg.url, ["registry:catalog:*"], basic("alice", "wonderland"));
        const res = await fetch(`${reg.url}/v2/_catalog`, {
          headers: { Authorization: `Bearer ${r.token}` },
        });
        assert.deepEqual((await res.json()).repositories, ["team/app"]);
        const b = await token(reg.url, ["registry:catalog:*"], basic("bob", "builder"));
        assert.deepEqual(claims(b.token).access, []);
        const denied = await fetch(`${reg.url}/v2/_catalog`, {
          headers: { Authorization: `Bearer ${b.token}` },
        });
        assert.equal(challenge(denied).scope, "registry:catalog:*");
        await assertError(denied, 401, "UNAUTHORIZED");
      },
    );
    await t.step("deleting needs delete", async () => {
      const del = (bearer: string) =>
        fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, {
          method: "DELETE",
          headers: { Authorization: `Bearer ${bearer}` },
        });
      await assertError(await del(aliceToken), 401, "UNAUTHORIZED");
      const r = await token(reg.url, ["repository:team/app:delete"], basic("alice", "wonderland"));
      assert.equal((await del(r.token)).status, 202);
    });
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});
