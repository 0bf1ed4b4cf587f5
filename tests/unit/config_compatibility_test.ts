import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/mod.ts";
import { assertConfigError } from "../helpers/config.ts";

Deno.test("config compatibility: distribution's schema1 section is read, not ignored", () => {
  assert.equal(buildConfig({}).compatibility, undefined);
  const doc = {
    compatibility: { schema1: { enabled: true, signingkeyfile: "/etc/registry/key.json" } },
  };
  const config = buildConfig(doc);
  assert.deepEqual(config.compatibility, {
    schema1: { enabled: true, convert: false, signingkeyfile: "/etc/registry/key.json" },
  });
  assert.deepEqual(config.ignored, []);
  assert.deepEqual(buildConfig({ compatibility: {} }).compatibility, {
    schema1: { enabled: false, convert: false },
  });
});

Deno.test("config compatibility: set from the environment and checked like the rest", () => {
  const env = {
    REGISTRY_COMPATIBILITY_SCHEMA1_ENABLED: "true",
    REGISTRY_COMPATIBILITY_SCHEMA1_CONVERT: "TRUE",
  };
  assert.deepEqual(buildConfig({}, env).compatibility, {
    schema1: { enabled: true, convert: true },
  });
  assertConfigError(
    () => buildConfig({ compatibility: { schema1: { enabld: true } } }),
    "compatibility.schema1.enabld",
    /not a known setting/,
  );
  assertConfigError(
    () => buildConfig({}, { REGISTRY_COMPATIBILITY_SCHEMA1_ENABLED: "yes" }),
    "compatibility.schema1.enabled",
    /must be true or false, got "yes" \(set by REGISTRY_COMPATIBILITY_SCHEMA1_ENABLED\)/,
  );
  assertConfigError(
    () => buildConfig({ compatibility: { schema1: { signingkeyfile: "" } } }),
    "compatibility.schema1.signingkeyfile",
    /must not be empty/,
  );
});
