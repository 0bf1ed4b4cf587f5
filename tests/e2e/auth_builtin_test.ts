import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { generateKeyPair, importJWK, SignJWT } from "jose";
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

const POLICY = {
  rules: [
    { users: ["alice"], repositories: ["team/**"], actions: ["*"] },
    { users: ["bob"], repositories: ["team/**"], actions: ["pull"] },
    { anonymous: true, repositories: ["public/**"], actions: ["pull"] },
    { users: ["alice"], repositories: ["public/**"], actions: ["pull", "push"] },
    { users: ["carol"], repositories: ["carol/**"], actions: ["*"] },
  ],
  catalog: { users: ["alice"] },
};
const ALICE = basic("alice", "wonderland");

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
  return { status: res.status, body, token: body.token as string, res };
}

function oauth(url: string, form: Record<string, string>) {
  return fetch(`${url}/token`, { method: "POST", body: new URLSearchParams(form) });
}

function part(jwt: string, i: number) {
  return JSON.parse(atob(jwt.split(".")[i].replace(/-/g, "+").replace(/_/g, "/")));
}
const claims = (jwt: string) => part(jwt, 1);

function bearer(jwt: string) {
  return { Authorization: `Bearer ${jwt}` };
}

Deno.test("the built-in token server: tokens, grants, OAuth2, JWKS and a fleet", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland", bob: "builder", carol: "c4rol" });
  const store = new MemoryMetadataStore();
  const driver = new MemoryBlobDriver();
  const auth = { htpasswd: { path }, builtin: { expiration: 120 }, policy: POLICY };
  const reg = await startAuthRegistry(auth, { store, driver });
  const data = randomBytes(2000);
  const push = (jwt: string) =>
    fetch(`${reg.url}/v2/team/app/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      body: data as BodyInit,
      headers: bearer(jwt),
    });
  let aliceToken = "";
  try {
    await t.step("challenges name the realm, service and the exact scope", async () => {
      const base = await fetch(`${reg.url}/v2/`);
      assert.deepEqual(challenge(base), { realm: `${reg.url}/token`, service: "berth" });
      await assertError(base, 401, "UNAUTHORIZED");
      const res = await fetch(`${reg.url}/v2/team/app/blobs/uploads/`, { method: "POST" });
      assert.equal(challenge(res).scope, "repository:team/app:pull,push");
      await res.body?.cancel();
    });
    await t.step("GET /token with Basic: a short-lived ES256 token with a kid", async () => {
      const r = await token(reg.url, ["repository:team/app:pull,push"], ALICE);
      assert.equal(r.status, 200);
      assert.equal(r.res.headers.get("cache-control"), "no-store");
      assert.equal(r.body.access_token, r.token);
      assert.equal(r.body.expires_in, 120);
      assert.ok(Math.abs(Date.parse(r.body.issued_at) - Date.now()) < 5000);
      assert.equal(r.body.refresh_token, undefined);
      const header = part(r.token, 0);
      assert.equal(header.alg, "ES256");
      assert.ok(header.kid);
      const c = claims(r.token);
      assert.equal(c.sub, "alice");
      assert.equal(c.aud, "berth");
      assert.equal(c.iss, "berth");
      assert.equal(c.exp - c.iat, 120);
      assert.deepEqual(c.access, [{
        type: "repository",
        name: "team/app",
        actions: ["pull", "push"],
      }]);
      aliceToken = r.token;
      const base = await fetch(`${reg.url}/v2/`, { headers: bearer(r.token) });
      assert.equal(base.status, 200);
      await base.body?.cancel();
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
      assert.equal(challenge(res).error, "insufficient_scope", "bob may only pull");
      await assertError(res, 401, "UNAUTHORIZED");
      const pull = await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, {
        headers: bearer(r.token),
      });
      assert.equal(pull.status, 200);
      await pull.body?.cancel();
      const all = await token(reg.url, ["repository:team/app:*"], ALICE);
      assert.deepEqual(claims(all.token).access[0].actions, ["*"]);
    });
    await t.step("a token for one repository does not open another", async () => {
      const res = await fetch(`${reg.url}/v2/team/other/tags/list`, {
        headers: bearer(aliceToken),
      });
      assert.equal(challenge(res).error, "insufficient_scope");
      assert.equal(challenge(res).scope, "repository:team/other:pull");
      await assertError(res, 401, "UNAUTHORIZED");
    });
    await t.step("anonymous callers get what the policy grants anonymous, no more", async () => {
      for (const headers of [{}, { Authorization: "Basic Og==" }] as Record<string, string>[]) {
        const anon = await token(reg.url, [
          "repository:public/tool:pull,push",
          "repository:team/app:pull",
          "registry:catalog:*",
        ], headers);
        assert.equal(anon.status, 200);
        assert.deepEqual(claims(anon.token).access, [
          { type: "repository", name: "public/tool", actions: ["pull"] },
        ]);
        assert.equal(claims(anon.token).sub, "");
        const tags = await fetch(`${reg.url}/v2/public/tool/tags/list`, {
          headers: bearer(anon.token),
        });
        await assertError(tags, 404, "NAME_UNKNOWN");
      }
      const offline = await token(reg.url, [], {});
      assert.equal(offline.body.refresh_token, undefined, "no refresh token for anonymous");
    });
    await t.step("OAuth2 POST: password grant with a refresh token, then refresh", async () => {
      const res = await oauth(reg.url, {
        grant_type: "password",
        username: "alice",
        password: "wonderland",
        service: "berth",
        client_id: "test",
        access_type: "offline",
        scope: "repository:team/app:pull",
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.ok(body.refresh_token);
      assert.deepEqual(claims(body.access_token).access[0].actions, ["pull"]);
      // A refresh token is not an access token.
      const misuse = await fetch(`${reg.url}/v2/`, { headers: bearer(body.refresh_token) });
      assert.equal(challenge(misuse).error, "invalid_token");
      await assertError(misuse, 401, "UNAUTHORIZED");
      const refreshed = await oauth(reg.url, {
        grant_type: "refresh_token",
        refresh_token: body.refresh_token,
        scope: "repository:team/app:push repository:team/app:pull",
      });
      assert.equal(refreshed.status, 200);
      const again = await refreshed.json();
      assert.equal(again.refresh_token, body.refresh_token);
      assert.deepEqual(claims(again.access_token).access, [
        { type: "repository", name: "team/app", actions: ["push"] },
        { type: "repository", name: "team/app", actions: ["pull"] },
      ]);
      const wrong: Record<string, string>[] = [
        { grant_type: "refresh_token", refresh_token: aliceToken },
        { grant_type: "refresh_token", refresh_token: "x.y.z" },
        { grant_type: "password", username: "alice", password: "guess" },
      ];
      for (const form of wrong) {
        const r = await oauth(reg.url, form);
        assert.equal(r.status, 401, JSON.stringify(form));
        await r.body?.cancel();
      }
      const unknown = await oauth(reg.url, { grant_type: "client_credentials" });
      assert.equal(unknown.status, 400);
      await unknown.body?.cancel();
      const get = await token(reg.url, [], ALICE);
      assert.equal(get.body.refresh_token, undefined);
      const offline = await fetch(`${reg.url}/token?service=berth&offline_token=true`, {
        headers: ALICE,
      });
      assert.equal(claims((await offline.json()).refresh_token).typ, "refresh");
    });
    await t.step("the JWKS is published; instances sharing the store agree", async (t) => {
      const jwks = await (await fetch(`${reg.url}/token/jwks.json`)).json();
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0].kty, "EC");
      assert.equal(jwks.keys[0].kid, part(aliceToken, 0).kid);
      const second = await startAuthRegistry(auth, { store, driver });
      const foreign = await startAuthRegistry({ ...auth, builtin: { service: "other" } }, {
        store,
        driver,
      });
      try {
        await t.step("a second instance accepts the first one's tokens", async () => {
          const res = await fetch(`${second.url}/v2/team/app/blobs/${sha256(data)}`, {
            headers: bearer(aliceToken),
          });
          assert.equal(res.status, 200);
          await res.body?.cancel();
          assert.deepEqual(await (await fetch(`${second.url}/token/jwks.json`)).json(), jwks);
        });
        await t.step("the same key for another service: wrong audience", async () => {
          const res = await fetch(`${foreign.url}/v2/team/app/tags/list`, {
            headers: bearer(aliceToken),
          });
          assert.equal(challenge(res).error, "invalid_token");
          await assertError(res, 401, "UNAUTHORIZED");
          const theirs = await token(foreign.url, [], ALICE); // asks for service=berth
          assert.equal(theirs.status, 400, "the token server checks the service asked for");
        });
      } finally {
        await second.close();
        await foreign.close();
      }
    });
    await t.step(
      "the catalog needs registry:catalog:* and lists what the caller can see",
      async () => {
        const r = await token(reg.url, ["registry:catalog:*"], ALICE);
        const res = await fetch(`${reg.url}/v2/_catalog`, { headers: bearer(r.token) });
        assert.deepEqual((await res.json()).repositories, ["team/app"]);
        const b = await token(reg.url, ["registry:catalog:*"], basic("bob", "builder"));
        assert.deepEqual(claims(b.token).access, []);
        const denied = await fetch(`${reg.url}/v2/_catalog`, { headers: bearer(b.token) });
        assert.equal(challenge(denied).scope, "registry:catalog:*");
        await assertError(denied, 401, "UNAUTHORIZED");
      },
    );
    await t.step("deleting needs delete", async () => {
      const del = (jwt: string) =>
        fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, {
          method: "DELETE",
          headers: bearer(jwt),
        });
      await assertError(await del(aliceToken), 401, "UNAUTHORIZED");
      const r = await token(reg.url, ["repository:team/app:delete"], ALICE);
      assert.equal((await del(r.token)).status, 202);
    });
    await t.step("neither passwords nor tokens reach the logs", () => {
      assert.ok(reg.logs.some((l) => l.includes('"token issued"') && l.includes('"user":"alice"')));
      for (const secret of ["wonderland", "builder", "c4rol", "n3w", aliceToken]) {
        assert.ok(!reg.logs.some((l) => l.includes(secret)), secret.slice(0, 12));
      }
      assert.ok(!reg.logs.some((l) => /eyJ[A-Za-z0-9_-]{10,}/.test(l)));
    });
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});

Deno.test("the built-in token server refuses forgeries and stale credentials", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland", bob: "builder", carol: "c4rol" });
  const reg = await startAuthRegistry({ htpasswd: { path }, builtin: {}, policy: POLICY });
  try {
    await t.step("wrong passwords and wrong services are refused", async () => {
      const r = await token(reg.url, [], basic("alice", "guess"));
      assert.equal(r.status, 401);
      assert.match(r.res.headers.get("www-authenticate")!, /^Basic /);
      assert.equal(r.body.errors[0].code, "UNAUTHORIZED");
      assert.equal((await token(reg.url, [], { Authorization: "Bearer x" })).status, 401);
      const other = await fetch(`${reg.url}/token?service=elsewhere`, { headers: ALICE });
      assert.equal(other.status, 400);
      await other.body?.cancel();
      assert.ok(reg.logs.some((l) => l.includes('"login failed"') && l.includes('"user":"alice"')));
    });
    await t.step("forged tokens are invalid_token", async () => {
      const jwks = await (await fetch(`${reg.url}/token/jwks.json`)).json();
      const { kid } = jwks.keys[0];
      const forge = async (key: Parameters<SignJWT["sign"]>[0], alg: string) =>
        await new SignJWT({ access: [{ type: "repository", name: "team/app", actions: ["*"] }] })
          .setProtectedHeader({ alg, kid })
          .setIssuer("berth")
          .setAudience("berth")
          .setSubject("alice")
          .setExpirationTime("5m")
          .sign(key);
      const hmac = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
      const stranger = await generateKeyPair("ES256");
      for (const jwt of [await forge(hmac, "HS256"), await forge(stranger.privateKey, "ES256")]) {
        const res = await fetch(`${reg.url}/v2/team/app/tags/list`, { headers: bearer(jwt) });
        assert.equal(challenge(res).error, "invalid_token");
        await assertError(res, 401, "UNAUTHORIZED");
      }
      const pub = await importJWK(jwks.keys[0], "ES256");
      assert.ok(pub, "the published key is a usable public key");
      assert.equal(jwks.keys[0].d, undefined, "no private part");
    });
    await t.step("a new password or a removed account ends refresh tokens", async () => {
      const login = async () =>
        (await (await oauth(reg.url, {
          grant_type: "password",
          username: "carol",
          password: "c4rol",
          access_type: "offline",
        })).json()).refresh_token as string;
      const refresh = (rt: string) =>
        oauth(reg.url, { grant_type: "refresh_token", refresh_token: rt });
      const rewrite = async (carol: string | null) => {
        const lines = (await Deno.readTextFile(path)).split("\n")
          .filter((l) => l && !l.startsWith("carol:"));
        if (carol) lines.push(`carol:${bcrypt.hashSync(carol, 4)}`);
        await Deno.writeTextFile(path, lines.join("\n") + "\n");
        const at = Date.now() / 1000 + Math.random() * 1000;
        await Deno.utime(path, at, at);
        await new Promise((r) => setTimeout(r, 1100)); // the file is looked at every second
      };
      const before = await login();
      assert.equal((await refresh(before)).status, 200);
      await rewrite("n3w");
      const stale = await refresh(before);
      assert.equal(stale.status, 401, "a new password ends it");
      await stale.body?.cancel();
      const fresh = await token(reg.url, [], basic("carol", "n3w"));
      assert.equal(fresh.status, 200);
      const after = (await (await oauth(reg.url, {
        grant_type: "password",
        username: "carol",
        password: "n3w",
        access_type: "offline",
      })).json()).refresh_token;
      await rewrite(null);
      const gone = await refresh(after);
      assert.equal(gone.status, 401, "removing the account ends it");
      await gone.body?.cancel();
      assert.ok(reg.logs.some((l) => l.includes('"refresh refused"') && l.includes('"carol"')));
    });
    // Last: it blocks logins from 127.0.0.1 for a minute.
    await t.step("repeated failed logins at the token endpoint are slowed down", async () => {
      const issued = (await token(reg.url, ["repository:team/app:pull"], ALICE)).token;
      let last: Response | undefined;
      for (let i = 0; i < 12; i++) {
        last = (await token(reg.url, [], basic("bob", `guess${i}`))).res;
        if (last.status === 429) break;
      }
      assert.equal(last!.status, 429);
      assert.ok(Number(last!.headers.get("retry-after")) > 0);
      assert.equal((await token(reg.url, [], ALICE)).status, 429);
      const pull = await fetch(`${reg.url}/v2/team/app/tags/list`, { headers: bearer(issued) });
      await assertError(pull, 404, "NAME_UNKNOWN"); // accepted: tokens already issued keep working
      assert.ok(
        !reg.logs.some((l) => /wonderland|builder|c4rol|n3w|eyJ[A-Za-z0-9_-]{10,}/.test(l)),
      );
    });
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});

Deno.test("the built-in token server's realm: http.host, or a configured realm", async () => {
  const path = await htpasswdFile({ alice: "wonderland" });
  const host = await startAuthRegistry({ htpasswd: { path }, builtin: {} }, {
    doc: { http: { host: "https://registry.example.com/" } },
  });
  const fixed = await startAuthRegistry({
    htpasswd: { path },
    builtin: { realm: "https://auth.example.com/token", service: "registry.example.com" },
  });
  try {
    const a = await fetch(`${host.url}/v2/`);
    assert.deepEqual(challenge(a), {
      realm: "https://registry.example.com/token",
      service: "berth",
    });
    await a.body?.cancel();
    const b = await fetch(`${fixed.url}/v2/`);
    assert.deepEqual(challenge(b), {
      realm: "https://auth.example.com/token",
      service: "registry.example.com",
    });
    await b.body?.cancel();
  } finally {
    await host.close();
    await fixed.close();
    await Deno.remove(path);
  }
});
