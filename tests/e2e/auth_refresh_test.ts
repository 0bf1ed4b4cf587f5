import assert from "node:assert/strict";
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { assertError } from "../helpers/oci.ts";

const ALICE = basic("alice", "wonderland");
const PASSWORD_GRANT = {
  grant_type: "password",
  username: "alice",
  password: "wonderland",
  service: "berth",
  client_id: "test",
  access_type: "offline",
  scope: "repository:team/app:pull",
};

function claims(jwt: string) {
  return JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}

function oauth(url: string, form: Record<string, string>) {
  return fetch(`${url}/token`, { method: "POST", body: new URLSearchParams(form) });
}

/** `GET /token?offline_token=true` with Alice's credentials, as `docker login` asks. */
async function dockerLogin(url: string) {
  const res = await fetch(`${url}/token?service=berth&offline_token=true`, { headers: ALICE });
  assert.equal(res.status, 200);
  return await res.json();
}

/** The access token opens `/v2/`: it is a real token, whatever else the answer holds. */
async function assertAccessWorks(url: string, token: string): Promise<void> {
  const res = await fetch(`${url}/v2/`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  await res.body?.cancel();
}

Deno.test("auth.builtin.refreshtokens: on by default, off means none issued and none accepted", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland" });
  // Both instances share the store, hence the signing key: the second one would accept the
  // first one's refresh tokens if it served refresh grants at all.
  const store = new MemoryMetadataStore();
  const driver = new MemoryBlobDriver();
  const on = await startAuthRegistry({ htpasswd: { path }, builtin: {} }, { store, driver });
  const off = await startAuthRegistry(
    { htpasswd: { path }, builtin: { refreshtokens: false } },
    { store, driver },
  );
  let issued = "";
  try {
    await t.step("by default, password grants that ask get a refresh token", async () => {
      const get = await dockerLogin(on.url);
      assert.equal(claims(get.refresh_token).typ, "refresh");
      const post = await oauth(on.url, PASSWORD_GRANT);
      assert.equal(post.status, 200);
      issued = (await post.json()).refresh_token;
      assert.equal(claims(issued).typ, "refresh");
      assert.equal(claims(issued).sub, "alice");
    });
    await t.step("off: GET with offline_token=true gets an access token only", async () => {
      const body = await dockerLogin(off.url);
      assert.equal(body.refresh_token, undefined);
      assert.deepEqual(Object.keys(body).sort(), [
        "access_token",
        "expires_in",
        "issued_at",
        "token",
      ]);
      await assertAccessWorks(off.url, body.token);
    });
    await t.step(
      "off: POST password grant with access_type=offline gets no refresh token",
      async () => {
        const res = await oauth(off.url, PASSWORD_GRANT);
        assert.equal(res.status, 200);
        const body = await res.json();
        assert.equal(body.refresh_token, undefined);
        assert.deepEqual(claims(body.access_token).access, [
          { type: "repository", name: "team/app", actions: ["pull"] },
        ]);
        await assertAccessWorks(off.url, body.access_token);
      },
    );
    await t.step(
      "off: a refresh grant is 400 UNSUPPORTED, for a valid token as for junk",
      async () => {
        for (const refresh_token of [issued, "x.y.z", ""]) {
          const res = await oauth(off.url, { grant_type: "refresh_token", refresh_token });
          assert.equal(res.headers.get("www-authenticate"), null);
          const text = await res.clone().text();
          assert.match(
            text,
            /Refresh tokens are turned off on this registry \(auth\.builtin\.refreshtokens: false\)/,
          );
          await assertError(res, 400, "UNSUPPORTED");
        }
        assert.ok(off.logs.some((l) => l.includes("refresh tokens are turned off")));
        assert.ok(!off.logs.some((l) => l.includes(issued)), "the token is not logged");
      },
    );
    await t.step("off: refused refresh grants are not failed logins", async () => {
      // Ten failures from one address throttle it; a stored token from before the switch
      // must not lock its owner out of signing in with the password.
      for (let i = 0; i < 12; i++) {
        const res = await oauth(off.url, { grant_type: "refresh_token", refresh_token: issued });
        assert.equal(res.status, 400);
        await res.body?.cancel();
      }
      await assertAccessWorks(off.url, (await dockerLogin(off.url)).token);
    });
    await t.step("on: the same refresh token is still served where they are on", async () => {
      const res = await oauth(on.url, { grant_type: "refresh_token", refresh_token: issued });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.refresh_token, issued);
      await assertAccessWorks(on.url, body.access_token);
    });
  } finally {
    await on.close();
    await off.close();
    await Deno.remove(path);
  }
});
