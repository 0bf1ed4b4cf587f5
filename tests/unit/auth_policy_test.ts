import assert from "node:assert/strict";
import { Policy } from "../../src/auth/policy.ts";
import { parseScopes } from "../../src/auth/scope.ts";
import { ConfigError } from "../../src/config/mod.ts";

const POLICY = {
  groups: { dev: ["alice", "bob"] },
  rules: [
    { groups: ["dev"], repositories: ["dev/**"], actions: ["pull", "push"] },
    { users: ["alice"], repositories: ["dev/**"], actions: ["delete"] },
    { authenticated: true, repositories: ["shared/*"], actions: ["pull"] },
    { anonymous: true, repositories: ["public/*"], actions: ["pull"] },
    { users: ["root"], repositories: ["**"], actions: ["*"] },
  ],
  catalog: { groups: ["dev"] },
};

Deno.test("policy: rights are the union of matching rules (users, groups, anonymous)", () => {
  const p = Policy.parse(POLICY);
  const sorted = (s: Set<string>) => [...s].sort();
  assert.deepEqual(sorted(p.actions("alice", "dev/x")), ["delete", "pull", "push"]);
  assert.deepEqual(sorted(p.actions("bob", "dev/x/y")), ["pull", "push"]);
  assert.deepEqual(sorted(p.actions("carol", "shared/x")), ["pull"]);
  assert.deepEqual(sorted(p.actions("carol", "dev/x")), []);
  assert.deepEqual(sorted(p.actions(null, "public/x")), ["pull"]);
  assert.deepEqual(sorted(p.actions(null, "shared/x")), [], "anonymous is not authenticated");
  assert.deepEqual(sorted(p.actions("root", "any/thing")), ["delete", "pull", "push"]);
  assert.ok(p.can("root", "x", "*"));
  assert.ok(!p.can("bob", "dev/x", "*"));
  assert.ok(p.canListCatalog("bob"));
  assert.ok(!p.canListCatalog("carol"));
  assert.ok(!p.canListCatalog(null));
});

Deno.test("policy: without one, signed-in users may do everything and anonymous nothing", () => {
  const open = Policy.open();
  assert.deepEqual([...open.actions("anyone", "x")].sort(), ["delete", "pull", "push"]);
  assert.deepEqual([...open.actions(null, "x")], []);
  assert.ok(open.canListCatalog("anyone"));
  assert.ok(!open.canListCatalog(null));
});

Deno.test("policy: granted scopes are what was asked intersected with what is allowed", () => {
  const p = Policy.parse(POLICY);
  const grant = (subject: string | null, ...scopes: string[]) =>
    p.grant(subject, parseScopes(scopes));
  assert.deepEqual(grant("bob", "repository:dev/a:pull,push,delete"), [
    { type: "repository", name: "dev/a", actions: ["pull", "push"] },
  ]);
  assert.deepEqual(grant("bob", "repository:dev/a:*"), [
    { type: "repository", name: "dev/a", actions: ["pull", "push"] },
  ], "* asked gets what is allowed");
  assert.deepEqual(grant("alice", "repository:dev/a:*"), [
    { type: "repository", name: "dev/a", actions: ["*"] },
  ]);
  assert.deepEqual(grant("bob", "repository:secret/x:pull", "repository:shared/s:pull,push"), [
    { type: "repository", name: "shared/s", actions: ["pull"] },
  ]);
  assert.deepEqual(grant(null, "repository:public/p:pull,push", "repository:dev/a:pull"), [
    { type: "repository", name: "public/p", actions: ["pull"] },
  ]);
  assert.deepEqual(grant("bob", "registry:catalog:*"), [
    { type: "registry", name: "catalog", actions: ["*"] },
  ]);
  assert.deepEqual(grant("carol", "registry:catalog:*", "registry:other:*"), []);
  assert.deepEqual(grant("bob", "repository:dev/a:pull repository:dev/a:pull"), [
    { type: "repository", name: "dev/a", actions: ["pull"] },
    { type: "repository", name: "dev/a", actions: ["pull"] },
  ]);
});

Deno.test("policy: mistakes are ConfigErrors naming the setting", () => {
  const rule = { users: ["a"], repositories: ["a/*"], actions: ["pull"] };
  const bad: [unknown, string][] = [
    ["rules", "auth.policy"],
    [{ rules: [] }, "auth.policy.rules"],
    [{ rules: [{ ...rule, repositories: ["A/*"] }] }, "auth.policy.rules[0].repositories"],
    [{ rules: [{ ...rule, repositories: ["a//b"] }] }, "auth.policy.rules[0].repositories"],
    [{ rules: [{ ...rule, repositories: [] }] }, "auth.policy.rules[0].repositories"],
    [{ rules: [{ ...rule, actions: ["fly"] }] }, "auth.policy.rules[0].actions"],
    [{ rules: [{ ...rule, actions: [] }] }, "auth.policy.rules[0].actions"],
    [{ rules: [{ repositories: ["a/*"], actions: ["pull"] }] }, "auth.policy.rules[0]"],
    [{ rules: [{ ...rule, groups: ["nope"] }] }, "auth.policy.rules[0].groups"],
    [{ rules: [{ ...rule, users: ["ghost"] }] }, "auth.policy.rules[0].users"],
    [{ rules: [{ ...rule, anonymous: "yes" }] }, "auth.policy.rules[0].anonymous"],
    [{ rules: [{ ...rule, extra: 1 }] }, "auth.policy.rules[0].extra"],
    [{ rules: [rule], groups: { g: ["ghost"] } }, "auth.policy.groups.g"],
    [{ rules: [rule], groups: { g: "a" } }, "auth.policy.groups.g"],
    [{ rules: [rule], catalog: { users: ["ghost"] } }, "auth.policy.catalog.users"],
    [{ rules: [rule], catalog: { user: ["a"] } }, "auth.policy.catalog.user"],
    [{ rules: [rule], catalog: {} }, "auth.policy.catalog"],
    [{ rulez: [] }, "auth.policy.rulez"],
  ];
  for (const [doc, setting] of bad) {
    assert.throws(
      () => Policy.parse(doc, new Set(["a"])),
      (e: unknown) => e instanceof ConfigError && e.setting === setting,
      setting,
    );
  }
});
