import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { createAuth } from "../../src/auth/create.ts";
import { silentLogger } from "../../src/log.ts";
import { API_ROUTES as ROUTES } from "../../src/api/routes.ts";
import { match } from "../../src/http/router.ts";
import { htpasswdFile } from "../helpers/auth.ts";

Deno.test("route table: only GET /v2/ is reached without a repository name", () => {
  for (const route of ROUTES) {
    if (route.access === "login") {
      assert.equal(route.name, "base");
      assert.deepEqual(Object.keys(route.methods), ["GET"]);
      continue;
    }
    if (route.access === "none") {
      assert.equal(route.name, "healthz", "only the health check is open to everyone");
      continue;
    }
    if (route.access === "catalog") {
      assert.equal(route.name, "catalog");
      continue;
    }
    assert.ok(route.pattern.source.includes("(?<name>"), `${route.name} names a repository`);
    const methods = Object.keys(route.methods);
    if (route.methods.GET) methods.push("HEAD");
    for (const method of methods) {
      const actions = route.access[method] ?? (method === "HEAD" ? route.access.GET : undefined);
      assert.ok(actions && actions.length > 0, `${route.name} ${method} declares its actions`);
    }
    for (const method of ["DELETE"]) {
      if (route.methods[method] && route.name !== "upload-session") {
        assert.ok(route.access[method]!.includes("delete"), `${route.name} DELETE needs delete`);
      }
    }
  }
});

Deno.test("route table: the token server's routes never shadow the registry API", async () => {
  const path = await htpasswdFile({ alice: "x" });
  try {
    const { routes } = await createAuth({ htpasswd: { path }, builtin: {} }, {
      store: new MemoryMetadataStore(),
      logger: silentLogger,
    });
    assert.deepEqual(routes.map((r) => r.name), ["token-jwks", "token"]);
    for (const p of ["/v2/", "/v2/token/manifests/x", "/v2/a/token/blobs/uploads/", "/healthz"]) {
      const found = match(routes, "GET", p);
      assert.equal(found.kind, "not-found", p);
    }
    assert.equal(match(routes, "GET", "/token").kind, "found");
    assert.equal(match(routes, "POST", "/token").kind, "found");
    assert.equal(match(routes, "GET", "/token/jwks.json").kind, "found");
  } finally {
    await Deno.remove(path);
  }
});
