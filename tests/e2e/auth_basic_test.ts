import assert from "node:assert/strict";
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

async function push(url: string, repo: string, data: Uint8Array, headers: Record<string, string>) {
  return await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
    method: "POST",
    body: data as BodyInit,
    headers,
  });
}

Deno.test("htpasswd: HTTP Basic with a policy", async (t) => {
  const path = await htpasswdFile({ alice: "wonderland", reader: "books", carol: "c4rol" });
  const reg = await startAuthRegistry({ htpasswd: { realm: "Berth test", path }, policy: POLICY });
  const alice = basic("alice", "wonderland"), reader = basic("reader", "books");
  try {
    await t.step("GET /v2/ challenges with Basic, and lets users in", async () => {
      const res = await fetch(`${reg.url}/v2/`);
      assert.equal(
        res.headers.get("www-authenticate"),
        'Basic realm="Berth test", charset="UTF-8"',
      );
      await assertError(res, 401, "UNAUTHORIZED");
      assert.equal((await fetch(`${reg.url}/v2/`, { headers: alice })).status, 200);
    });
    await t.step("a wrong password is 401 and is logged with the user and address", async () => {
      await assertError(
        await fetch(`${reg.url}/v2/`, { headers: basic("alice", "nope") }),
        401,
        "UNAUTHORIZED",
      );
      await assertError(
        await fetch(`${reg.url}/v2/`, { headers: basic("mallory", "x") }),
        401,
        "UNAUTHORIZED",
      );
      const failed = reg.logs.filter((l) => l.includes('"login failed"'));
      assert.ok(
        failed.some((l) => l.includes('"user":"alice"') && l.includes('"client":"127.0.0.1"')),
      );
      assert.ok(
        !reg.logs.some((l) =>
          l.includes("wonderland") || l.includes("nope") || l.includes("Basic ")
        ),
      );
    });
    const data = randomBytes(1000);
    await t.step("users push where the policy allows, and are DENIED elsewhere", async () => {
      assert.equal((await push(reg.url, "team/app", data, alice)).status, 201);
      await assertError(await push(reg.url, "team/app", data, reader), 403, "DENIED");
      await assertError(await push(reg.url, "other/app", data, alice), 403, "DENIED");
      await assertError(await push(reg.url, "team/app", data, {}), 401, "UNAUTHORIZED");
    });
    await t.step("read-only accounts pull", async () => {
      const res = await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, { headers: reader });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.bytes(), data);
      await assertError(
        await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`, {
          method: "DELETE",
          headers: reader,
        }),
        403,
        "DENIED",
      );
    });
    await t.step("anonymous pull of a public repository", async () => {
      assert.equal((await push(reg.url, "public/tool", data, alice)).status, 201);
      const res = await fetch(`${reg.url}/v2/public/tool/blobs/${sha256(data)}`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      await assertError(
        await fetch(`${reg.url}/v2/team/app/blobs/${sha256(data)}`),
        401,
        "UNAUTHORIZED",
      );
    });
    await t.step("mounting needs pull on the source", async () => {
      const mount = (repo: string, headers: Record<string, string>) =>
        fetch(`${reg.url}/v2/${repo}/blobs/uploads/?mount=${sha256(data)}&from=team/app`, {
          method: "POST",
          headers,
        });
      const ok = await mount("public/copy", alice);
      assert.equal(ok.status, 201);
      // carol may push to carol/* but not read team/app: no mount, a normal session instead.
      const carol = basic("carol", "c4rol");
      const denied = await mount("carol/copy", carol);
      assert.equal(denied.status, 202);
      assert.ok(denied.headers.get("docker-upload-uuid"));
      const hidden = await fetch(`${reg.url}/v2/carol/x/blobs/uploads/?mount=${sha256(data)}`, {
        method: "POST",
        headers: carol,
      });
      assert.equal(hidden.status, 202, "mount without from finds nothing carol can read");
      const anon = await fetch(`${reg.url}/v2/public/other/blobs/uploads/?mount=${sha256(data)}`, {
        method: "POST",
        headers: alice,
      });
      assert.equal(anon.status, 201, "mount without from finds a repository alice can read");
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
    });
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
    });
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});
