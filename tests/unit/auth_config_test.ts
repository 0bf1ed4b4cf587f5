import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { openAccess } from "../../src/access.ts";
import { readAuthConfig } from "../../src/auth/config.ts";
import { createAuth } from "../../src/auth/create.ts";
import { buildConfig, ConfigError } from "../../src/config/mod.ts";
import { silentLogger } from "../../src/log.ts";
import { htpasswdFile } from "../helpers/auth.ts";

const TOKEN = { realm: "https://auth.example.com/token", service: "s", issuer: "i" };

Deno.test("auth: none configured means open access and no extra routes", async () => {
  const auth = await createAuth(undefined, {
    store: new MemoryMetadataStore(),
    logger: silentLogger,
  });
  assert.equal(auth.authorizer, openAccess);
  assert.deepEqual(auth.routes, []);
});

Deno.test("auth: every configuration mistake stops start-up, naming the setting", async () => {
  const path = await htpasswdFile({ alice: "x" });
  const dir = await Deno.makeTempDir();
  const empty = `${dir}/empty`, notJson = `${dir}/bad.json`, noKeys = `${dir}/nokeys.json`;
  const noCert = `${dir}/nocert.pem`, badCert = `${dir}/badcert.pem`;
  await Deno.writeTextFile(empty, "");
  await Deno.writeTextFile(notJson, "{");
  await Deno.writeTextFile(noKeys, '{"keys":[]}');
  await Deno.writeTextFile(noCert, "just text\n");
  await Deno.writeTextFile(
    badCert,
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  );
  const deps = { store: new MemoryMetadataStore(), logger: silentLogger };
  const rule = { users: ["alice"], repositories: ["a/*"], actions: ["pull"] };
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{}, "auth", /needs htpasswd/],
    [{ silly: { realm: "x" } }, "auth.silly", /not a supported mechanism/],
    [{ htpasswd: "yes" }, "auth.htpasswd", /must be a mapping/],
    [{ htpasswd: {} }, "auth.htpasswd.path", /required/],
    [{ htpasswd: { path: "/nonexistent/htpasswd" } }, "auth.htpasswd.path", /cannot be read/],
    [{ htpasswd: { path: empty } }, "auth.htpasswd.path", /no users/],
    [{ htpasswd: { path, realm: "x", extra: 1 } }, "auth.htpasswd.extra", /not a known setting/],
    [{ htpasswd: { path, realm: 'a"b' } }, "auth.htpasswd.realm", /quotes/],
    [{ htpasswd: { path }, policy: { rules: [] } }, "auth.policy.rules", /non-empty/],
    [
      { htpasswd: { path }, policy: { rules: [{ ...rule, repositories: ["a/***"] }] } },
      "auth.policy.rules[0].repositories",
      /not a repository pattern/,
    ],
    [
      { htpasswd: { path }, policy: { rules: [{ ...rule, users: ["bob"] }] } },
      "auth.policy.rules[0].users",
      /unknown user "bob"/,
    ],
    [{ token: { ...TOKEN, realm: undefined, jwks: empty } }, "auth.token.realm", /required/],
    [
      { token: { ...TOKEN, realm: "auth/token", jwks: empty } },
      "auth.token.realm",
      /http\(s\) URL/,
    ],
    [{ token: { ...TOKEN, service: "a\nb", jwks: empty } }, "auth.token.service", /control/],
    [{ token: TOKEN }, "auth.token", /needs rootcertbundle or jwks/],
    [{ token: { ...TOKEN, jwks: "/nonexistent.json" } }, "auth.token.jwks", /cannot be read/],
    [{ token: { ...TOKEN, jwks: notJson } }, "auth.token.jwks", /is not JSON/],
    [{ token: { ...TOKEN, jwks: noKeys } }, "auth.token.jwks", /not a JWKS with keys/],
    [{ token: { ...TOKEN, jwks: "ftp://keys" } }, "auth.token.jwks", /not an http\(s\) URL/],
    [
      { token: { ...TOKEN, rootcertbundle: noCert } },
      "auth.token.rootcertbundle",
      /no certificate/,
    ],
    [{ token: { ...TOKEN, rootcertbundle: badCert } }, "auth.token.rootcertbundle", /not parse/],
    [
      { token: { ...TOKEN, rootcertbundle: "/nonexistent.pem" } },
      "auth.token.rootcertbundle",
      /cannot be read/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks", signingalgorithms: ["HS256"] } },
      "auth.token.signingalgorithms",
      /only asymmetric/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks", signingalgorithms: ["none"] } },
      "auth.token.signingalgorithms",
      /"none"/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks", autoredirect: "maybe" } },
      "auth.token.autoredirect",
      /true or false/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks", autoredirect: true, autoredirectpath: "t" } },
      "auth.token.autoredirectpath",
      /start with/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks", jwksrefreshinterval: "1h" } },
      "auth.token.jwksrefreshinterval",
      /not a known setting/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks" }, htpasswd: { path } },
      "auth",
      /cannot be combined/,
    ],
    [
      { token: { ...TOKEN, jwks: "https://k/jwks" }, policy: { rules: [rule] } },
      "auth.policy",
      /does not apply to an external token server/,
    ],
    [{ builtin: {} }, "auth", /needs htpasswd/],
    [{ policy: { rules: [rule] } }, "auth", /needs htpasswd/],
    [{ htpasswd: { path }, builtin: { expiration: 5 } }, "auth.builtin.expiration", /seconds/],
    [{ htpasswd: { path }, builtin: { expiration: "5m" } }, "auth.builtin.expiration", /seconds/],
    [{ htpasswd: { path }, builtin: { realm: "/token" } }, "auth.builtin.realm", /URL/],
    [{ htpasswd: { path }, builtin: { keyfile: "x" } }, "auth.builtin.keyfile", /not a known/],
    [
      { htpasswd: { path }, builtin: { refreshtokens: "no" } },
      "auth.builtin.refreshtokens",
      /must be true or false, got "no"/,
    ],
  ];
  try {
    for (const [auth, setting, message] of bad) {
      await assert.rejects(() => createAuth(auth, deps), (e: unknown) => {
        assert.ok(e instanceof ConfigError, `${setting}: ${e}`);
        assert.equal(e.setting, setting, String(e));
        assert.match(e.message, message);
        return true;
      });
    }
  } finally {
    await Deno.remove(path);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("auth: values from REGISTRY_AUTH_* variables (strings) are read like YAML's", async () => {
  const path = await htpasswdFile({ alice: "x" });
  try {
    const builtin = await readAuthConfig({
      htpasswd: { path },
      builtin: { expiration: "600", service: "registry.example.com" },
    });
    assert.equal(builtin.mechanism, "builtin");
    assert.equal(builtin.mechanism === "builtin" && builtin.expiration, 600);
    assert.equal(builtin.mechanism === "builtin" && builtin.refreshTokens, true, "the default");
    for (const [value, expected] of [["false", false], ["true", true], [false, false]] as const) {
      const doc = buildConfig({}, {
        REGISTRY_AUTH_HTPASSWD_PATH: path,
        REGISTRY_AUTH_BUILTIN_REFRESHTOKENS: String(value),
      });
      const fromEnv = await readAuthConfig(doc.auth!);
      assert.equal(fromEnv.mechanism === "builtin" && fromEnv.refreshTokens, expected, `${value}`);
      const fromFile = await readAuthConfig({
        htpasswd: { path },
        builtin: { refreshtokens: value },
      });
      assert.equal(
        fromFile.mechanism === "builtin" && fromFile.refreshTokens,
        expected,
        `${value}`,
      );
    }
    const token = await readAuthConfig({
      token: {
        ...TOKEN,
        jwks: "https://keys.example.com/jwks.json",
        autoredirect: "true",
        signingalgorithms: "RS256,ES256",
      },
    });
    assert.deepEqual(token.mechanism === "token" && token, {
      mechanism: "token",
      realm: null,
      autoRedirectPath: "/auth/token",
      service: "s",
      issuer: "i",
      keys: { jwksUrl: "https://keys.example.com/jwks.json" },
      algorithms: ["RS256", "ES256"],
    });
    const config = buildConfig({}, {
      REGISTRY_AUTH_HTPASSWD_PATH: path,
      REGISTRY_AUTH_HTPASSWD_REALM: "Team registry",
    });
    const basic = await readAuthConfig(config.auth!);
    assert.equal(basic.mechanism === "htpasswd" && basic.realm, "Team registry");
  } finally {
    await Deno.remove(path);
  }
});
