import assert from "node:assert/strict";
import { loggable } from "../../src/auth/authorizer.ts";
import { allows, formatScope, parseScope, parseScopes } from "../../src/auth/scope.ts";

Deno.test("scopes: parsed from token requests", () => {
  assert.deepEqual(parseScope("repository:a/b:pull,push"), {
    type: "repository",
    name: "a/b",
    actions: ["pull", "push"],
  });
  assert.deepEqual(parseScope("repository:localhost:5000/a:pull"), {
    type: "repository",
    name: "localhost:5000/a",
    actions: ["pull"],
  });
  assert.deepEqual(parseScope("registry:catalog:*"), {
    type: "registry",
    name: "catalog",
    actions: ["*"],
  });
  assert.deepEqual(parseScope("repository:a:fly"), { type: "repository", name: "a", actions: [] });
  const bad = ["", "repository", "repository:a", "user:a:pull", ":a:pull", "repository::pull"];
  for (
    const text of [...bad, "repository:a\nb:pull", "repository:a b:pull", 'repository:a"b:pull']
  ) {
    assert.equal(parseScope(text), null, JSON.stringify(text));
  }
});

Deno.test("scopes: repeated and space-separated, rendered back for challenges", () => {
  const scopes = parseScopes(["repository:a:pull repository:b:push", "registry:catalog:*", ""]);
  assert.deepEqual(scopes.map(formatScope), [
    "repository:a:pull",
    "repository:b:push",
    "registry:catalog:*",
  ]);
  assert.ok(allows(["*"], "delete"));
  assert.ok(allows(["pull", "push"], "push"));
  assert.ok(!allows(["pull"], "push"));
});

Deno.test("client-chosen names are made safe for log lines", () => {
  assert.equal(loggable("alice"), "alice");
  assert.equal(loggable(null), null);
  assert.equal(loggable(undefined), null);
  assert.equal(loggable('a\n{"level":"info"}\r\x1b[31m'), 'a?{"level":"info"}??[31m');
  assert.equal(loggable("x".repeat(500))!.length, 103);
});
