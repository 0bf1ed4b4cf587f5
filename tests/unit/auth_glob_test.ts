import assert from "node:assert/strict";
import { compileGlob } from "../../src/auth/glob.ts";

Deno.test("repository globs: * stays within a segment, ** crosses them", () => {
  const cases: [string, string[], string[]][] = [
    ["team/*", ["team/a", "team/b-c"], ["team", "team/a/b", "teams/a"]],
    ["team/**", ["team", "team/a", "team/a/b/c"], ["teams/a", "other/team/a"]],
    ["*/app", ["a/app", "b/app"], ["app", "a/b/app"]],
    ["a/**/z", ["a/b/z", "a/b/c/z"], ["a/z", "a/b/y"]],
    ["lib-*", ["lib-a", "lib-"], ["lib-a/b", "lib"]],
    ["**", ["a", "a/b/c"], []],
    ["lib.x", ["lib.x"], ["libax"]],
  ];
  for (const [pattern, yes, no] of cases) {
    const re = compileGlob(pattern);
    for (const name of yes) assert.ok(re.test(name), `${pattern} should match ${name}`);
    for (const name of no) assert.ok(!re.test(name), `${pattern} should not match ${name}`);
  }
});

Deno.test("repository globs: malformed patterns are refused, quoting the pattern", () => {
  for (const bad of ["", "Team/*", "a b", "a/***", "a?", "a//b", "/a", "a/", "a[b]"]) {
    assert.throws(() => compileGlob(bad), (e: unknown) => {
      assert.match((e as Error).message, /is not a repository pattern/);
      assert.ok((e as Error).message.includes(`"${bad}"`));
      return true;
    }, bad);
  }
});
