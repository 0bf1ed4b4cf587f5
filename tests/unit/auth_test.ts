import assert from "node:assert/strict";
import { ConfigError } from "../../src/config.ts";
import { createAuth } from "../../src/auth/create.ts";
import { compileGlob } from "../../src/auth/glob.ts";
import { Htpasswd } from "../../src/auth/htpasswd.ts";
import { Policy } from "../../src/auth/policy.ts";
import { parseScope, parseScopes } from "../../src/auth/scope.ts";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { silentLogger } from "../../src/log.ts";
import { htpasswdFile } from "../helpers/auth.ts";

Deno.test("repository globs", () => {
  const cases: [string, string[], string[]][] = [
    ["team/*", ["team/a", "team/b-c"], ["team", "team/a/b", "teams/a"]],
    ["team/**", ["team", "team/a", "team/a/b/c"], ["teams/a", "other/team/a"]],
    ["*/app", ["a/app", "b/app"], ["app", "a/b/app"]],
    ["**", ["a", "a/b/c"], []],
    ["lib.x", ["lib.x"], ["libax"]],
  ];
  for (const [pattern, yes, no] of cases) {
    const re = compileGlob(pattern);
    for (const name of yes) assert.ok(re.test(name), `${pattern} should match ${name}`);
    for (const name of no) assert.ok(!re.test(name), `${pattern} should not match ${name}`);
  }
  for (const bad of ["", "Team/*", "a b", "a/***", "a?"]) {
    assert.throws(() => compileGlob(bad), /not a repository pattern/);
  }
});

Deno.test("policy: union of matching rules, groups, anonymous, catalog", () => {
  const p = Policy.parse({
    groups: { dev: ["alice", "bob"] },
    rules: [
      { groups: ["dev"], repositories: ["dev/**"], actions: ["pull", "push"] },
      { users: ["alice"], repositories: ["dev/**"], actions: ["delete"] },
      { authenticated: true, repositories: ["shared/*"], actions: ["pull"] },
      { anonymous: true, repositories: ["public/*"], actions: ["pull"] },
      { users: ["root"], repositories: ["**"], actions: ["*"] },
    ],
    catalog: { groups: ["dev"] },
  });
  assert.deepEqual([...p.actions("alice", "dev/x")].sort(), ["delete", "pull", "push"]);
  assert.deepEqual([...p.actions("bob", "dev/x")].sort(), ["pull", "push"]);
  assert.deepEqual([...p.actions("carol", "shared/x")], ["pull"]);
  assert.deepEqual([...p.actions("carol", "dev/x")], []);
  assert.deepEqual([...p.actions(null, "public/x")], ["pull"]);
  assert.deepEqual([...p.actions(null, "shared/x")], []);
  assert.deepEqual([...p.actions("root", "any/thing")].sort(), ["delete", "pull", "push"]);
  assert.ok(p.canListCatalog("bob"));
  assert.ok(!p.canListCatalog("carol"));
  assert.ok(!p.canListCatalog(null));
  const open = Policy.open();
  assert.deepEqual([...open.actions("anyone", "x")].sort(), ["delete", "pull", "push"]);
  assert.deepEqual([...open.actions(null, "x")], []);
});

Deno.test("policy: mistakes are ConfigErrors naming the setting", () => {
  const bad: [unknown, string][] = [
    [{ rules: [] }, "auth.policy.rules"],
    [
      { rules: [{ users: ["a"], repositories: ["A/*"], actions: ["pull"] }] },
      "auth.policy.rules[0].repositories",
    ],
    [
      { rules: [{ users: ["a"], repositories: ["a/*"], actions: ["fly"] }] },
      "auth.policy.rules[0].actions",
    ],
    [{ rules: [{ repositories: ["a/*"], actions: ["pull"] }] }, "auth.policy.rules[0]"],
    [
      { rules: [{ groups: ["nope"], repositories: ["a/*"], actions: ["pull"] }] },
      "auth.policy.rules[0].groups",
    ],
    [
      { rules: [{ users: ["ghost"], repositories: ["a/*"], actions: ["pull"] }] },
      "auth.policy.rules[0].users",
    ],
    [
      { rules: [{ users: ["a"], repositories: ["a/*"], actions: ["pull"], extra: 1 }] },
      "auth.policy.rules[0].extra",
    ],
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

Deno.test("htpasswd files", async () => {
  const real = await new Deno.Command("htpasswd", {
    args: ["-nbB", "-C", "4", "alice", "s3cret"],
    stdout: "piped",
    stderr: "null",
  })
    .output().catch(() => null);
  const line = real?.code === 0 ? new TextDecoder().decode(real.stdout).trim() : null;
  if (line) {
    const users = Htpasswd.parse(line);
    assert.ok(await users.verify("alice", "s3cret"), "an entry written by htpasswd -B verifies");
    assert.ok(!await users.verify("alice", "S3cret"));
  }
  const path = await htpasswdFile({ bob: "pw" });
  const users = Htpasswd.parse(await Deno.readTextFile(path));
  assert.ok(await users.verify("bob", "pw"));
  assert.ok(await users.verify("bob", "pw"), "remembered");
  assert.ok(!await users.verify("bob", "pw2"));
  assert.ok(!await users.verify("nobody", "pw"));
  assert.throws(
    () => Htpasswd.parse("alice:{SHA}abc=\n", "f"),
    /f line 1 is not a "user:bcrypt-hash" entry/,
  );
  assert.throws(() => Htpasswd.parse("alice:$apr1$x$y\n"), /line 1/);
  await Deno.remove(path);
});

Deno.test("scopes", () => {
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
  for (const bad of ["", "repository", "repository:a", "user:a:pull", ":a:pull"]) {
    assert.equal(parseScope(bad), null, bad);
  }
  assert.equal(
    parseScopes(["repository:a:pull repository:b:push", "registry:catalog:*"]).length,
    3,
  );
});

Deno.test("auth configuration mistakes stop start-up", async () => {
  const path = await htpasswdFile({ alice: "x" });
  const empty = await Deno.makeTempFile();
  const deps = { store: new MemoryMetadataStore(), logger: silentLogger };
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ silly: { realm: "x" } }, "auth.silly", /not a supported mechanism/],
    [{ htpasswd: { path: "/nonexistent/htpasswd" } }, "auth.htpasswd.path", /cannot be read/],
    [{ htpasswd: { path: empty } }, "auth.htpasswd.path", /no users/],
    [{ htpasswd: {} }, "auth.htpasswd.path", /required/],
    [{ htpasswd: { path, realm: "x", extra: 1 } }, "auth.htpasswd.extra", /not a known setting/],
    [{ token: { service: "s", issuer: "i", jwks: "/x" } }, "auth.token.realm", /required/],
    [{ token: { realm: "r", service: "s", issuer: "i" } }, "auth.token", /exactly one/],
    [
      { token: { realm: "r", service: "s", issuer: "i", jwks: "/nonexistent.json" } },
      "auth.token.jwks",
      /not a readable JWKS/,
    ],
    [
      { token: { realm: "r", service: "s", issuer: "i", jwks: "/x" }, htpasswd: { path } },
      "auth",
      /cannot be combined/,
    ],
    [{ builtin: {} }, "auth", /needs htpasswd/],
    [
      { policy: { rules: [{ anonymous: true, repositories: ["*"], actions: ["pull"] }] } },
      "auth",
      /needs htpasswd/,
    ],
    [{ htpasswd: { path }, builtin: { expiration: 5 } }, "auth.builtin.expiration", /seconds/],
  ];
  for (const [auth, setting, message] of bad) {
    await assert.rejects(() => createAuth(auth, deps), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `${setting}: ${e}`);
      assert.equal(e.setting, setting);
      assert.match(e.message, message);
      return true;
    });
  }
  await Deno.remove(path);
  await Deno.remove(empty);
});
