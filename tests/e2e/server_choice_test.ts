/**
 * Which HTTP server serves: `berth.http.server` (auto, berth, deno), `auto` resolved for
 * the platform, and both implementations serving the same application.
 */
import assert from "node:assert/strict";
import { buildConfig, ConfigError } from "../../src/config/mod.ts";
import { resolveServer, serve } from "../../src/http/server/serve.ts";
import { startRegistry } from "../helpers/registry.ts";

Deno.test("auto picks Berth's listener, and Deno.serve on Deno Deploy or without Deno.listen", () => {
  const none = () => undefined;
  assert.equal(resolveServer("auto", none, true), "berth");
  assert.equal(
    resolveServer("auto", (n) => n === "DENO_DEPLOYMENT_ID" ? "abc" : undefined, true),
    "deno",
  );
  assert.equal(resolveServer("auto", none, false), "deno");
  assert.equal(
    resolveServer("berth", (n) => n === "DENO_DEPLOYMENT_ID" ? "abc" : undefined, true),
    "berth",
  );
  assert.equal(resolveServer("deno", none, true), "deno");
});

Deno.test("berth.http.server is read from the file and the environment, and checked", () => {
  assert.equal(buildConfig({}, {}).berth.http.server, "auto");
  assert.equal(buildConfig({ berth: { http: { server: "deno" } } }, {}).berth.http.server, "deno");
  assert.equal(buildConfig({}, { REGISTRY_BERTH_HTTP_SERVER: "berth" }).berth.http.server, "berth");
  assert.throws(
    () => buildConfig({ berth: { http: { server: "hyper" } } }, {}),
    (e: unknown) =>
      e instanceof ConfigError && e.setting === "berth.http.server" && /hyper/.test(e.message),
  );
  assert.throws(
    () => buildConfig({ berth: { http: { listener: "berth" } } }, {}),
    (e: unknown) => e instanceof ConfigError && e.setting === "berth.http.listener",
  );
});

for (const server of ["berth", "deno"] as const) {
  Deno.test(`the registry serves a push and a pull through ${server}`, async () => {
    const reg = await startRegistry({ doc: { berth: { http: { server } } } });
    try {
      assert.equal(reg.server.kind, server);
      const data = new TextEncoder().encode("hello, ".repeat(10_000));
      const digest = "sha256:" + Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      const put = await fetch(`${reg.url}/v2/choice/app/blobs/uploads/?digest=${digest}`, {
        method: "POST",
        body: data,
      });
      assert.equal(put.status, 201, await put.text());
      const got = await fetch(`${reg.url}/v2/choice/app/blobs/${digest}`);
      assert.deepEqual(await got.bytes(), data);
      const head = await fetch(`${reg.url}/v2/choice/app/blobs/${digest}`, { method: "HEAD" });
      assert.equal(head.headers.get("content-length"), String(data.length));
      assert.equal(await head.text(), "");
    } finally {
      await reg.close();
    }
  });
}

Deno.test("serve() reports the address and shuts down for either implementation", async () => {
  for (const kind of ["berth", "deno"] as const) {
    const server = serve(() => new Response("ok"), {
      hostname: "127.0.0.1",
      port: 0,
      server: kind,
    });
    assert.equal(server.kind, kind);
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await res.text(), "ok");
    await server.shutdown();
    await server.finished;
  }
});
