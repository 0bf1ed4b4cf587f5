/**
 * @module
 * `berth.metadata` with the PostgreSQL driver: the URL, password and pool from the file
 * or the environment, the defaults, and refusals that name the setting (without ever
 * quoting a password).
 */
import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/mod.ts";
import { redact } from "../../src/config/metadata.ts";
import { assertConfigError } from "../helpers/config.ts";

Deno.test("berth.metadata postgres: url, password and pool", async (t) => {
  await t.step("from the file, with the default pool", () => {
    const c = buildConfig({
      berth: { metadata: { driver: "postgres", url: "postgres://berth@db:5432/berth" } },
    });
    assert.deepEqual(c.berth.metadata, {
      driver: "postgres",
      url: "postgres://berth@db:5432/berth",
      pool: 10,
    });
  });
  await t.step("from the environment, the password apart from the URL", () => {
    const c = buildConfig({}, {
      REGISTRY_BERTH_METADATA_DRIVER: "postgres",
      REGISTRY_BERTH_METADATA_URL: "postgresql://berth@db1,db2/berth?target_session_attrs=primary",
      REGISTRY_BERTH_METADATA_PASSWORD: "pw",
      REGISTRY_BERTH_METADATA_POOL: "25",
    });
    assert.deepEqual(c.berth.metadata, {
      driver: "postgres",
      url: "postgresql://berth@db1,db2/berth?target_session_attrs=primary",
      password: "pw",
      pool: 25,
    });
  });
  await t.step("the environment overrides the file's URL", () => {
    const c = buildConfig(
      { berth: { metadata: { driver: "postgres", url: "postgres://old/berth", pool: 3 } } },
      { REGISTRY_BERTH_METADATA_URL: "postgres://new/berth" },
    );
    assert.equal(c.berth.metadata.url, "postgres://new/berth");
    assert.equal(c.berth.metadata.pool, 3);
  });
});

Deno.test("berth.metadata postgres: refusals name the setting", () => {
  const pg = (metadata: object) => ({ berth: { metadata: { driver: "postgres", ...metadata } } });
  const cases: [unknown, string, RegExp][] = [
    [pg({}), "berth.metadata.url", /is required for the postgres driver/],
    [pg({ url: "https://kv.example.com" }), "berth.metadata.url", /must be a postgres:\/\/ URL/],
    [pg({ url: "postgres://h/db", path: "x" }), "berth.metadata.path", /postgres takes a url/],
    [pg({ url: "postgres://h/db", pool: 0 }), "berth.metadata.pool", /1 to 1000, got 0/],
    [pg({ url: "postgres://h/db", pool: "many" }), "berth.metadata.pool", /got "many"/],
    [{ berth: { metadata: { pool: 5 } } }, "berth.metadata.pool", /postgres driver, not of "kv"/],
    [
      { berth: { metadata: { driver: "memory", password: "x" } } },
      "berth.metadata.password",
      /not of "memory"/,
    ],
    [{ berth: { metadata: { driver: "mysql" } } }, "berth.metadata.driver", /kv, memory, postgres/],
  ];
  for (const [doc, setting, message] of cases) {
    assertConfigError(() => buildConfig(doc, {}), setting, message);
  }
  assert.throws(
    () => buildConfig(pg({ url: "mysql://u:secret@h/db" }), {}),
    (err: Error) => !err.message.includes("secret") && err.message.includes("u:***@"),
  );
});

Deno.test("redact hides the password of a URL and nothing else", () => {
  assert.equal(redact("postgres://u:p%40ss@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
  assert.equal(redact("postgres://u@h/db"), "postgres://u@h/db");
  assert.equal(redact("postgres://h:5432/db"), "postgres://h:5432/db");
  assert.equal(redact("https://kv.example.com/db"), "https://kv.example.com/db");
});
