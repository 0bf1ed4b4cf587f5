import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/mod.ts";
import { assertConfigError } from "../helpers/config.ts";

const MIB = 1024 * 1024;
const S3 = { region: "us-east-1", bucket: "images" };

Deno.test("config: REGISTRY_STORAGE selects the storage driver", async (t) => {
  await t.step("s3 replaces the file's filesystem section and keeps the rest", () => {
    const c = buildConfig(
      { storage: { filesystem: { rootdirectory: "/x" }, delete: { enabled: false } } },
      {
        REGISTRY_STORAGE: "s3",
        REGISTRY_STORAGE_S3_REGION: "us-east-1",
        REGISTRY_STORAGE_S3_BUCKET: "images",
        REGISTRY_STORAGE_S3_REGIONENDPOINT: "http://127.0.0.1:9000",
        REGISTRY_STORAGE_S3_FORCEPATHSTYLE: "true",
        REGISTRY_STORAGE_S3_CHUNKSIZE: String(5 * MIB),
      },
    );
    assert.equal(c.storage.driver, "s3");
    assert.equal(c.storage.s3?.bucket, "images");
    assert.equal(c.storage.s3?.regionendpoint, "http://127.0.0.1:9000");
    assert.equal(c.storage.s3?.forcepathstyle, true);
    assert.equal(c.storage.s3?.chunksize, 5 * MIB);
    assert.equal(c.storage.delete.enabled, false);
  });
  await t.step("the chosen driver keeps its own settings from the file", () => {
    const c = buildConfig({ storage: { s3: { ...S3, chunksize: 6 * MIB } } }, {
      REGISTRY_STORAGE: "s3",
    });
    assert.equal(c.storage.s3?.chunksize, 6 * MIB);
  });
  await t.step("inmemory replaces a file's s3 section", () => {
    const c = buildConfig({ storage: { s3: S3 } }, { REGISTRY_STORAGE: "inmemory" });
    assert.equal(c.storage.driver, "inmemory");
    assert.equal(c.storage.s3, undefined);
  });
  await t.step("a driver Berth does not have is refused", () => {
    assertConfigError(
      () => buildConfig({}, { REGISTRY_STORAGE: "azure" }),
      "storage.azure",
      /not supported: .*filesystem, inmemory or s3 \(set by REGISTRY_STORAGE\)/,
    );
  });
});

Deno.test("config: the s3 section", async (t) => {
  await t.step("defaults", () => {
    const c = buildConfig({ storage: { s3: { ...S3, rootdirectory: "/berth/images/" } } }, {});
    assert.deepEqual(JSON.parse(JSON.stringify(c.storage.s3)), {
      ...S3,
      forcepathstyle: false,
      rootdirectory: "berth/images",
      chunksize: 10 * MIB,
      secure: true,
    });
  });
  await t.step("keys fall back to AWS_* as a set", () => {
    const env = {
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "SECRET",
      AWS_SESSION_TOKEN: "TOKEN",
    };
    const fromEnv = buildConfig({ storage: { s3: S3 } }, env).storage.s3!;
    assert.deepEqual([fromEnv.accesskey, fromEnv.secretkey, fromEnv.sessiontoken], [
      "AKID",
      "SECRET",
      "TOKEN",
    ]);
    const own = buildConfig({ storage: { s3: { ...S3, accesskey: "A", secretkey: "S" } } }, env)
      .storage.s3!;
    assert.deepEqual([own.accesskey, own.secretkey, own.sessiontoken], ["A", "S", undefined]);
  });
  await t.step("an endpoint may be a bare host (the scheme then follows `secure`)", () => {
    const c = buildConfig({
      storage: { s3: { ...S3, regionendpoint: "minio:9000", secure: false } },
    });
    assert.equal(c.storage.s3?.regionendpoint, "minio:9000");
    assert.equal(c.storage.s3?.secure, false);
  });
  await t.step("refusals", () => {
    const s3 = (extra: Record<string, unknown>) => () =>
      buildConfig({ storage: { s3: { ...S3, ...extra } } });
    assertConfigError(
      () => buildConfig({ storage: { s3: { bucket: "b" } } }),
      "storage.s3.region",
      /is required/,
    );
    assertConfigError(
      () => buildConfig({ storage: { s3: { region: "r" } } }),
      "storage.s3.bucket",
      /is required/,
    );
    assertConfigError(s3({ chunksize: 1024 }), "storage.s3.chunksize", /5242880 to .*got 1024/);
    assertConfigError(s3({ chunksize: "10MiB" }), "storage.s3.chunksize", /whole number.*"10MiB"/);
    assertConfigError(s3({ accesskey: "A" }), "storage.s3.secretkey", /required with accesskey/);
    assertConfigError(s3({ secure: "maybe" }), "storage.s3.secure", /true or false/);
    assertConfigError(
      s3({ regionendpoint: "ftp://x" }),
      "storage.s3.regionendpoint",
      /http\(s\) URL or a host, got "ftp:\/\/x"/,
    );
    assertConfigError(s3({ bukket: "x" }), "storage.s3.bukket", /not a known setting/);
  });
  await t.step("distribution's s3 options Berth does not implement are listed", () => {
    const c = buildConfig({ storage: { s3: { ...S3, v4auth: true, encrypt: false } } });
    assert.deepEqual(c.ignored, ["storage.s3.v4auth", "storage.s3.encrypt"]);
  });
});
