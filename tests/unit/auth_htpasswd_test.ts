import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { Htpasswd, HtpasswdFile } from "../../src/auth/htpasswd.ts";
import { createLogger } from "../../src/log.ts";

/** `htpasswd -nbB` output, or null when apache2-utils is not installed. */
async function realHtpasswd(user: string, password: string): Promise<string | null> {
  const out = await new Deno.Command("htpasswd", {
    args: ["-nbB", "-C", "4", user, password],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  return out?.code === 0 ? new TextDecoder().decode(out.stdout).trim() : null;
}

Deno.test("htpasswd: $2y$ entries written by htpasswd -B, and $2a$ and $2b$ entries", async (t) => {
  const line = await realHtpasswd("alice", "s3cret");
  await t.step({
    name: "htpasswd -B (apache2-utils)",
    ignore: line === null,
    fn: async () => {
      assert.match(line!, /^alice:\$2y\$04\$/);
      const users = Htpasswd.parse(line!);
      assert.ok(await users.verify("alice", "s3cret"));
      assert.ok(!await users.verify("alice", "S3cret"));
    },
  });
  await t.step("bcryptjs hashes under every prefix", async () => {
    const hash = bcrypt.hashSync("pw", 4).slice(4);
    const users = Htpasswd.parse(
      ["# a comment", "", `a:$2a$${hash}`, `b:$2b$${hash}`, `y:$2y$${hash}\r`].join("\n"),
    );
    assert.equal(users.size, 3);
    for (const user of ["a", "b", "y"]) {
      assert.ok(await users.verify(user, "pw"), user);
      assert.ok(await users.verify(user, "pw"), `${user}, remembered`);
      assert.ok(!await users.verify(user, "pw2"), user);
    }
    assert.ok(!await users.verify("nobody", "pw"));
    assert.ok(!await users.verify("", ""));
  });
});

Deno.test("htpasswd: entries that are not bcrypt are refused with their line", () => {
  const cases: [string, RegExp][] = [
    ["alice:{SHA}abc=\n", /f line 1 is not a "user:bcrypt-hash" entry/],
    ["# x\nalice:$apr1$x$y\n", /f line 2/],
    ["alice:plain\n", /f line 1/],
    [":$2y$05$" + "a".repeat(53), /f line 1/],
    ["alice\n", /f line 1/],
  ];
  for (const [text, message] of cases) assert.throws(() => Htpasswd.parse(text, "f"), message);
  const hash = bcrypt.hashSync("pw", 4);
  assert.throws(() => Htpasswd.parse(`a:${hash}\na:${hash}\n`, "f"), /line 2 repeats user "a"/);
});

Deno.test("htpasswd: fingerprints change with the password and vanish with the user", async () => {
  const one = Htpasswd.parse(`a:${bcrypt.hashSync("pw", 4)}`);
  const two = Htpasswd.parse(`a:${bcrypt.hashSync("pw", 4)}`);
  const fp = await one.fingerprint("a");
  assert.match(fp!, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(await one.fingerprint("a"), fp);
  assert.notEqual(await two.fingerprint("a"), fp, "a new hash, a new fingerprint");
  assert.equal(await one.fingerprint("b"), null);
});

Deno.test("htpasswd file: read again when it changes; a broken file locks everyone out", async () => {
  const path = await Deno.makeTempFile({ prefix: "berth-htpasswd-" });
  const logs: string[] = [];
  const logger = createLogger({ level: "info", instanceId: "t", write: (_, l) => logs.push(l) });
  const write = async (text: string, seconds: number) => {
    await Deno.writeTextFile(path, text);
    await Deno.utime(path, seconds, seconds); // distinct modification times, whatever the FS
  };
  const wait = () => new Promise((r) => setTimeout(r, 1100));
  try {
    await write(`alice:${bcrypt.hashSync("a", 4)}\n`, 1_000_000);
    const file = await HtpasswdFile.open(path, Deno, logger);
    assert.ok(await file.verify("alice", "a"));
    assert.ok(!await file.verify("bob", "b"));

    await write(`bob:${bcrypt.hashSync("b", 4)}\n`, 1_000_100);
    await wait();
    assert.ok(await file.verify("bob", "b"), "a user added to the file signs in");
    assert.ok(!await file.verify("alice", "a"), "a user removed from the file no longer does");
    assert.ok(logs.some((l) => l.includes("htpasswd reloaded")));

    await write("bob:not-bcrypt\n", 1_000_200);
    await wait();
    assert.ok(!await file.verify("bob", "b"), "a broken file fails closed");
    assert.ok(logs.some((l) => l.includes("htpasswd unreadable") && l.includes('"level":"error"')));

    await write(`bob:${bcrypt.hashSync("b", 4)}\n`, 1_000_300);
    await wait();
    assert.ok(await file.verify("bob", "b"), "fixing the file lets users back in");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("htpasswd file: unreadable, malformed or empty files are refused at start-up", async () => {
  await assert.rejects(() => HtpasswdFile.open("/nonexistent/htpasswd"), /cannot be read/);
  const path = await Deno.makeTempFile();
  try {
    await assert.rejects(() => HtpasswdFile.open(path), /has no users/);
    await Deno.writeTextFile(path, "# only a comment\n");
    await assert.rejects(() => HtpasswdFile.open(path), /has no users/);
    await Deno.writeTextFile(path, "alice:secret\n");
    await assert.rejects(() => HtpasswdFile.open(path), /line 1 is not/);
  } finally {
    await Deno.remove(path);
  }
});
