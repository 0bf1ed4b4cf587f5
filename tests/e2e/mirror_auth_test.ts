import assert from "node:assert/strict";
import { assertError, pushImage, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";
import { basic, htpasswdFile } from "../helpers/auth.ts";
import { startMirror } from "../helpers/mirror.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const PUSHER = basic("pusher", "push-it");

Deno.test("a mirror of a Bearer upstream caches tokens, renews them, and keeps credentials home", async (t) => {
  const htpasswd = await htpasswdFile({ mirror: "m1rror", pusher: "push-it" });
  // The proxy is the upstream's public address, so its token realm points through it.
  const proxy = startUpstreamProxy();
  const upstream = await startRegistry({
    doc: {
      http: { host: proxy.url },
      auth: {
        htpasswd: { path: htpasswd },
        builtin: { expiration: 60 },
        policy: {
          rules: [
            { users: ["pusher"], repositories: ["**"], actions: ["*"] },
            { users: ["mirror"], repositories: ["team/**"], actions: ["pull"] },
            { anonymous: true, repositories: ["public/**"], actions: ["pull"] },
          ],
        },
      },
    },
  });
  proxy.target = upstream.url;
  const elsewhere: { authorization: string | null; path: string }[] = [];
  const cdn = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    elsewhere.push({
      authorization: req.headers.get("authorization"),
      path: new URL(req.url).pathname,
    });
    return new Response(redirected as BodyInit);
  });
  const redirected = randomBytes(100_000);
  const mirror = await startMirror([
    {
      prefix: "up.test",
      remoteurl: proxy.url,
      username: "mirror",
      password: "m1rror",
      revalidate: "0",
    },
    { prefix: "anon.test", remoteurl: proxy.url },
  ]);
  const token = async (scope: string) => {
    const res = await fetch(
      `${upstream.url}/token?service=berth&scope=${encodeURIComponent(scope)}`,
      { headers: PUSHER },
    );
    return `Bearer ${(await res.json()).token}`;
  };
  const pushAs = async (repo: string) =>
    await pushImageAuthed(upstream.url, repo, {
      Authorization: await token(`repository:${repo}:pull,push`),
    });
  const m = (path: string, init?: RequestInit) => fetch(`${mirror.url}/v2/${path}`, init);
  try {
    const image = await pushAs("team/app");
    const pub = await pushAs("public/app");
    await pushAs("team/two");

    await t.step("one token per repository serves a whole pull", async () => {
      proxy.reset();
      const res = await m("up.test/team/app/manifests/v1");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), image.text);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        const blob = await m(`up.test/team/app/blobs/${d.digest}`);
        assert.equal(sha256(await blob.bytes()), d.digest);
      }
      const again = await m("up.test/team/app/manifests/v1");
      await again.body?.cancel();
      const tokens = proxy.seen.filter((s) => s.path.startsWith("/token"));
      assert.equal(tokens.length, 1, "the token is cached");
      assert.match(tokens[0].path, /scope=repository%3Ateam%2Fapp%3Apull/);
      assert.deepEqual(tokens[0].authorization, basic("mirror", "m1rror").Authorization);
      const api = proxy.seen.filter((s) => s.path.startsWith("/v2/"));
      assert.ok(api.slice(1).every((s) => s.authorization?.startsWith("Bearer ")));
    });

    await t.step("an expired token is renewed before it is used", async () => {
      // The upstream says its next token lasts one second.
      proxy.mode.intercept = (request, url) =>
        url.pathname === "/token"
          ? proxy.forward(request).then(async (res) => {
            const body = await res.json();
            return Response.json({ ...body, expires_in: 1 });
          })
          : null;
      const scope = "up.test/team/two";
      const first = await m(`${scope}/manifests/v1`);
      await first.body?.cancel();
      proxy.mode.intercept = null;
      proxy.reset();
      await new Promise((r) => setTimeout(r, 1_200));
      const res = await m(`${scope}/manifests/v1`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
      assert.deepEqual(proxy.seen.map((s) => s.path.replace(/\?.*/, "")), [
        "/token",
        "/v2/team/two/manifests/v1",
      ], "a fresh token first, no 401 round trip");
    });

    await t.step("a 401 drops the token and retries once with a new one", async () => {
      let refused = 0;
      proxy.mode.intercept = (request) => {
        if (refused > 0 || !request.headers.get("authorization")?.startsWith("Bearer ")) {
          return null;
        }
        refused++;
        return Promise.resolve(
          new Response(null, {
            status: 401,
            headers: {
              "WWW-Authenticate":
                `Bearer realm="${proxy.url}/token",service="berth",scope="repository:team/app:pull"`,
            },
          }),
        );
      };
      proxy.reset();
      const res = await m("up.test/team/app/manifests/v1");
      assert.equal(res.status, 200);
      await res.body?.cancel();
      proxy.mode.intercept = null;
      assert.deepEqual(proxy.seen.map((s) => s.path.replace(/\?.*/, "")), [
        "/v2/team/app/manifests/v1",
        "/token",
        "/v2/team/app/manifests/v1",
      ]);
    });

    await t.step("an upstream that keeps refusing is an outage, not a loop", async () => {
      proxy.mode.intercept = () =>
        Promise.resolve(
          new Response(null, {
            status: 401,
            headers: { "WWW-Authenticate": `Bearer realm="${proxy.url}/token",service="berth"` },
          }),
        );
      proxy.reset();
      const res = await m("up.test/team/app/manifests/v1");
      assert.equal(res.status, 200, "the cached copy");
      assert.equal(res.headers.get("warning"), '110 - "Response is Stale"');
      await res.body?.cancel();
      assert.ok(proxy.seen.length <= 3, `${proxy.seen.length} requests`);
      proxy.mode.intercept = null;
    });

    await t.step(
      "anonymous mirrors get anonymous tokens, and only what they may pull",
      async () => {
        proxy.reset();
        const res = await m("anon.test/public/app/manifests/v1");
        assert.equal(await res.text(), pub.text);
        assert.ok(proxy.seen.every((s) => !s.authorization?.startsWith("Basic")));
        await assertError(await m("anon.test/team/app/manifests/v1"), 503, "UNAVAILABLE");
      },
    );

    await t.step("credentials never follow a redirect to another host", async () => {
      const { digest } = await pushBlobAuthed(
        upstream.url,
        "team/app",
        redirected,
        await token("repository:team/app:pull,push"),
      );
      proxy.mode.intercept = (request, url) =>
        url.pathname.endsWith(`/blobs/${digest}`) && request.method === "GET"
          ? Promise.resolve(
            new Response(null, {
              status: 307,
              headers: { Location: `http://127.0.0.1:${cdn.addr.port}/cdn/${digest}` },
            }),
          )
          : null;
      const res = await m(`up.test/team/app/blobs/${digest}`);
      assert.equal(res.status, 200);
      assert.equal(sha256(await res.bytes()), digest);
      proxy.mode.intercept = null;
      assert.deepEqual(elsewhere, [{ authorization: null, path: `/cdn/${digest}` }]);
      const toUpstream = proxy.seen.filter((s) => s.path.endsWith(`/blobs/${digest}`));
      assert.ok(toUpstream.every((s) => s.authorization?.startsWith("Bearer ")));
    });
  } finally {
    await mirror.close();
    await cdn.shutdown();
    await proxy.close();
    await upstream.close();
  }
});

Deno.test("a mirror of a Basic upstream sends the password once it was asked for", async () => {
  const htpasswd = await htpasswdFile({ mirror: "m1rror", pusher: "push-it" });
  const upstream = await startRegistry({ doc: { auth: { htpasswd: { path: htpasswd } } } });
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([
    { prefix: "up.test", remoteurl: proxy.url, username: "mirror", password: "m1rror" },
  ]);
  try {
    const image = await pushImageAuthed(upstream.url, "team/app", PUSHER);
    const res = await fetch(`${mirror.url}/v2/up.test/team/app/manifests/v1`);
    assert.equal(await res.text(), image.text);
    for (const d of [image.manifest.config, ...image.manifest.layers]) {
      const blob = await fetch(`${mirror.url}/v2/up.test/team/app/blobs/${d.digest}`);
      assert.equal(sha256(await blob.bytes()), d.digest);
    }
    const auths = proxy.seen.map((s) => s.authorization);
    assert.equal(auths[0], null, "anonymous until challenged");
    assert.ok(auths.slice(1).every((a) => a === basic("mirror", "m1rror").Authorization));
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});

Deno.test("the mirror's own access policy applies to mirrored repositories", async () => {
  const upstream = await startRegistry();
  const image = await pushImage(upstream.url, "library/app", 1);
  assert.equal((await putManifest(upstream.url, "library/app", "v1", image.text)).status, 201);
  const htpasswd = await htpasswdFile({ alice: "wonderland" });
  const mirror = await startMirror([{ prefix: "docker.io", remoteurl: upstream.url }], {
    doc: {
      auth: {
        htpasswd: { path: htpasswd },
        policy: {
          rules: [
            { anonymous: true, repositories: ["docker.io/**"], actions: ["pull"] },
            { users: ["alice"], repositories: ["**"], actions: ["*"] },
          ],
        },
      },
    },
  });
  try {
    const res = await fetch(`${mirror.url}/v2/docker.io/library/app/manifests/v1`);
    assert.equal(await res.text(), image.text);
    const ns = await fetch(`${mirror.url}/v2/library/app/manifests/v1?ns=docker.io`);
    assert.equal(ns.status, 200, "anonymous pull through ?ns= too");
    await ns.body?.cancel();
    await assertError(
      await fetch(`${mirror.url}/v2/docker.io/library/app/blobs/uploads/`, { method: "POST" }),
      401,
      "UNAUTHORIZED",
    );
    await assertError(
      await fetch(`${mirror.url}/v2/docker.io/library/app/blobs/uploads/`, {
        method: "POST",
        headers: basic("alice", "wonderland"),
      }),
      405,
      "UNSUPPORTED",
    );
    await assertError(await fetch(`${mirror.url}/v2/hosted/app/tags/list`), 401, "UNAUTHORIZED");
  } finally {
    await mirror.close();
    await upstream.close();
  }
});

/** Pushes an image with an `Authorization` header on every request. */
async function pushImageAuthed(url: string, repo: string, auth: Record<string, string>) {
  const config = await pushBlobAuthed(
    url,
    repo,
    new TextEncoder().encode(`{"n":${Math.random()}}`),
    auth.Authorization,
  );
  const layer = await pushBlobAuthed(url, repo, randomBytes(3000), auth.Authorization);
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  };
  const text = JSON.stringify(manifest);
  const put = await fetch(`${url}/v2/${repo}/manifests/v1`, {
    method: "PUT",
    body: text,
    headers: { ...auth, "Content-Type": manifest.mediaType },
  });
  assert.equal(put.status, 201, await put.text());
  return { manifest, text, digest: sha256(text) };
}

async function pushBlobAuthed(url: string, repo: string, data: Uint8Array, authorization: string) {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: data as BodyInit,
    headers: { Authorization: authorization },
  });
  assert.equal(res.status, 201, await res.text());
  return { digest, size: data.byteLength };
}
