import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

const POLICY = {
  groups: { team: ["alice"] },
  rules: [
    { groups: ["team"], repositories: ["team/**"], actions: ["*"] },
    { users: ["reader"], repositories: ["team/**"], actions: ["pull"] },
    { anonymous: true, repositories: ["public/*"], actions: ["pull"] },
    { users: ["alice"], repositories: ["public/*"], actions: ["pull", "push"] },
    { users: ["carol"], repositories: ["carol/**"], actions: ["pull", "push"] },
  ],
  catalog: { users: ["alice"] },
};
type Headers = Record<string, string>;

function push(url: string, repo: string, data: Uint8Array, headers: Headers) {
  return fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
    method: "POST",
    body: data as BodyInit,
    headers,
  });
}

/** Pushes an image manifest whose config and only layer are `blob`; returns its digest. */
async function pushManifest(url: string, repo: string, blob: Uint8Array, headers: Headers) {
  const desc = { digest: sha256(blob), size: blob.byteLength };
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...desc },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...desc }],
  });
  const res = await fetch(`${url}/v2/${repo}/manifests/v1`, {
    method: "PUT",
    body: manifest,
    headers: { ...headers, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  assert.equal(res.status, 201, await res.text());
  return sha256(manifest);
}

Deno.test("htpasswd: HTTP Basic with a policy", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland", reader: "books", carol: "c4rol" });
  const reg = await startAuthRegistry({ htpasswd: { realm: "Berth test", path }, policy: POLICY });
  const alice = basic("alice", "wonderland"), reader = basic("reader", "books");
  const carol = basic("carol", "c4rol");
  const data = randomBytes(1000);
  try {
    await t.step("GET /v2/ challenges with Basic, and lets users in", async () => {
      const res = await fetch(`${reg.url}/v2/`);
      assert.equal(
        res.headers.get("www-authenticate"),
        'Basic realm="Berth test", charset="UTF-8"',
      );
      await assertError(res, 401, "UNAUTHORIZED");
      const ok = await fetch(`${reg.url}/v2/`, { headers: alice });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
    });
    await t.step("every route but /healthz needs a caller the policy lets in", async () => {
      const d = sha256(data);
      const requests: [string, string][] = [
        ["GET", "/v2/_catalog"],
        ["GET", "/v2/team/app/tags/list"],
        ["GET", "/v2/team/app/manifests/v1"],
        ["HEAD", "/v2/team/app/manifests/v1"],
        ["PUT", "/v2/team/app/manifests/v1"],
        ["DELETE", "/v2/team/app/manifests/v1"],
        ["GET", `/v2/team/app/blobs/${d}`],
        ["HEAD", `/v2/team/app/blobs/${d}`],
        ["DELETE", `/v2/team/app/blobs/${d}`],
        ["POST", "/v2/team/app/blobs/uploads/"],
        ["GET", "/v2/team/app/blobs/uploads/some-id"],
        ["PATCH", "/v2/team/app/blobs/uploads/some-id"],
        ["PUT", "/v2/team/app/blobs/uploads/some-id"],
        ["DELETE", "/v2/team/app/blobs/uploads/some-id"],
        ["GET", `/v2/team/app/referrers/${d}`],
      ];
      for (const [method, p] of requests) {
        const res = await fetch(`${reg.url}${p}`, { method });
        assert.equal(res.status, 401, `${method} ${p}`);
        assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /, `${method} ${p}`);
        await res.body?.cancel();
      }
      const health = await fetch(`${reg.url}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      assert.equal((await fetch(`${reg.url}/token`)).status, 404, "no token server here");
    });
    await t.step("wrong passwords are 401 and logged with the user and address", async () => {
      for (
        const headers of [basic("alice", "nope"), basic("mallory", "x"), {
          Authorization: "Basic !!",
        }]
      ) {
        await assertError(await fetch(`${reg.url}/v2/`, { headers }), 401, "UNAUTHORIZED");
      }
      const failed = reg.logs.filter((l) => l.includes('"login failed"'));
      assert.ok(
        failed.some((l) => l.includes('"user":"alice"') && l.includes('"client":"127.0.0.1"')),
      );
      assert.ok(failed.some((l) => l.includes('"user":"mallory"')));
    });
    let manifest = "";
    await t.step("users push where the policy allows, and are DENIED elsewhere", async () => {
      assert.equal((await push(reg.url, "team/app", data, alice)).status, 201);
      manifest = await pushManifest(reg.url, "team/app", data, alice);
      await assertError(await push(reg.url, "team/app", data, reader), 403, "DENIED");
      await assertError(await push(reg.url, "other/app", data, alice), 403, "DENIED");
      await assertError(await push(reg.url, "team/app", data, {}), 401, "UNAUTHORIZED");
    });
    await t.step("read-only accounts pull, and may not push or delete", async () => {
      const res = await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, { headers: reader });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.bytes(), data);
      const m = await fetch(`${reg.url}/v2/team/app/manifests/v1`, { headers: reader });
      assert.equal(m.headers.get("docker-content-digest"), manifest);
      await m.body?.cancel();
      for (const p of [`blobs/${sha256(data)}`, `manifests/${manifest}`, "manifests/v1"]) {
        await assertError(
          await fetch(`${reg.url}/v2/team/app/${p}`, { method: "DELETE", headers: reader }),
          403,
          "DENIED",
        );
      }
      await assertError(
        await fetch(`${reg.url}/v2/team/app/manifests/v2`, {
          method: "PUT",
          body: "{}",
          headers: { ...reader, "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        }),
        403,
        "DENIED",
      );
    });
    await t.step("anonymous pull of a public repository, and of nothing else", async () => {
      assert.equal((await push(reg.url, "public/tool", data, alice)).status, 201);
      for (const headers of [{}, { Authorization: "Basic Og==" }] as Headers[]) {
        const res = await fetch(`${reg.url}/v2/public/tool/blobs/${sha256(data)}`, { headers });
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      await assertError(
        await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`),
        401,
        "UNAUTHORIZED",
      );
      await assertError(await push(reg.url, "public/tool", data, {}), 401, "UNAUTHORIZED");
    });
    await t.step("mounting needs pull on the source", async () => {
      const mount = (repo: string, query: string, headers: Headers) =>
        fetch(`${reg.url}/v2/${repo}/blobs/uploads/?mount=${sha256(data)}${query}`, {
          method: "POST",
          headers,
        });
      const ok = await mount("public/copy", "&from=team/app", alice);
      assert.equal(ok.status, 201);
      // carol may push to carol/** but not read team/app: no mount, a new session instead.
      const denied = await mount("carol/copy", "&from=team/app", carol);
      assert.equal(denied.status, 202);
      assert.ok(denied.headers.get("docker-upload-uuid"));
      const hidden = await mount("carol/x", "", carol);
      assert.equal(hidden.status, 202, "mount without from finds nothing carol can read");
      const found = await mount("public/other", "", alice);
      assert.equal(found.status, 201, "mount without from finds a repository alice can read");
      const blob = await fetch(`${reg.url}/v2/carol/copy/blobs/${sha256(data)}`, {
        headers: carol,
      });
      await assertError(blob, 404, "BLOB_UNKNOWN");
    });
    await t.step("the catalog needs its permission and lists what the caller can see", async () => {
      const res = await fetch(`${reg.url}/v2/_catalog`, { headers: alice });
      assert.deepEqual((await res.json()).repositories, [
        "public/copy",
        "public/other",
        "public/tool",
        "team/app",
      ]);
      await assertError(await fetch(`${reg.url}/v2/_catalog`, { headers: reader }), 403, "DENIED");
      await assertError(await fetch(`${reg.url}/v2/_catalog`), 401, "UNAUTHORIZED");
    });
    await t.step("deleting needs delete", async () => {
      const res = await fetch(`${reg.url}/v2/team/app/manifests/${manifest}`, {
        method: "DELETE",
        headers: alice,
      });
      assert.equal(res.status, 202);
    });
    await t.step("users added to the htpasswd file sign in without a restart", async () => {
      const dave = basic("dave", "d4ve");
      await assertError(await fetch(`${reg.url}/v2/`, { headers: dave }), 401, "UNAUTHORIZED");
      await Deno.writeTextFile(path, `dave:${bcrypt.hashSync("d4ve", 4)}\n`, { append: true });
      const later = Date.now() / 1000 + 10;
      await Deno.utime(path, later, later);
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(`${reg.url}/v2/`, { headers: dave });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await assertError(await push(reg.url, "team/x", data, dave), 403, "DENIED");
    });
    await t.step("no password or Basic header ever reaches the logs", () => {
      assert.ok(reg.logs.length > 20);
      for (const secret of ["wonderland", "books", "c4rol", "nope", "d4ve", "Basic "]) {
        assert.ok(!reg.logs.some((l) => l.includes(secret)), secret);
      }
    });
    // Last: it blocks 127.0.0.1 for a minute.
    await t.step("repeated failures from one address are slowed down", async () => {
      let last: Response | undefined;
      for (let i = 0; i < 12; i++) {
        last = await fetch(`${reg.url}/v2/`, { headers: basic("alice", `guess${i}`) });
        if (last.status === 429) break;
        await last.body?.cancel();
      }
      assert.ok(Number(last!.headers.get("retry-after")) > 0);
      await assertError(last!, 429, "TOOMANYREQUESTS");
      await assertError(await fetch(`${reg.url}/v2/`, { headers: alice }), 429, "TOOMANYREQUESTS");
      // Anonymous access to public repositories is not a login, and goes on.
      const res = await fetch(`${reg.url}/v2/public/tool/blobs/${sha256(data)}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    });
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});
