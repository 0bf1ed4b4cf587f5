import assert from "node:assert/strict";
import { buildConfig, ConfigError, loadConfig } from "../../src/config.ts";
import { parseDuration } from "../../src/duration.ts";

function configError(fn: () => unknown, setting: string, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.setting, setting);
    assert.match(e.message, message);
    assert.ok(e.message.includes(setting), "the message names the setting");
    return true;
  });
}

const DISTRIBUTION_YML = `
version: 0.1
log:
  level: debug
  formatter: text
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: true
      age: 168h
      interval: 24h
      dryrun: false
http:
  addr: :5000
  secret: asecretforlocaldevelopment
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;

Deno.test("config: zero configuration", () => {
  const c = buildConfig({}, {});
  assert.equal(c.http.port, 5000);
  assert.equal(c.http.hostname, "0.0.0.0");
  assert.equal(c.storage.driver, "filesystem");
  assert.equal(c.storage.filesystem.rootdirectory, "./data/blobs");
  assert.deepEqual(c.berth.metadata, { driver: "kv", path: "./data/metadata.kv" });
  assert.equal(c.storage.delete.enabled, true);
  assert.equal(c.berth.manifests.maxbytes, 4 * 1024 * 1024);
  assert.equal(c.berth.uploads.hashing, "auto");
  assert.equal(c.log.level, "info");
  assert.deepEqual(c.ignored, []);
});

Deno.test("config: a distribution config.yml carries over", async () => {
  const c = await loadConfig({
    args: ["serve", "/etc/registry/config.yml"],
    env: {},
    readTextFile: () => Promise.resolve(DISTRIBUTION_YML),
  });
  assert.equal(c.log.level, "debug");
  assert.equal(c.log.formatter, "text");
  assert.equal(c.storage.filesystem.rootdirectory, "/var/lib/registry");
  assert.equal(c.storage.delete.enabled, false);
  assert.equal(c.storage.maintenance.uploadpurging.age, 168 * 3600_000);
  assert.equal(c.http.secret, "asecretforlocaldevelopment");
  assert.deepEqual(c.http.headers, { "X-Content-Type-Options": ["nosniff"] });
  assert.deepEqual(c.ignored.sort(), ["health", "log.fields", "storage.cache"]);
  assert.equal(c.log.accesslog.disabled, false);
});

Deno.test("config: REGISTRY_* environment overrides", async (t) => {
  await t.step("distribution's names", () => {
    const c = buildConfig({ http: { addr: ":1" } }, {
      REGISTRY_HTTP_ADDR: "127.0.0.1:8080",
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/srv/blobs",
      REGISTRY_STORAGE_DELETE_ENABLED: "false",
      REGISTRY_LOG_LEVEL: "warn",
      REGISTRY_HTTP_SECRET: "s",
      REGISTRY_BERTH_DATADIR: "/srv/berth",
      REGISTRY_BERTH_MANIFESTS_MAXBYTES: "8388608",
    });
    assert.equal(c.http.hostname, "127.0.0.1");
    assert.equal(c.http.port, 8080);
    assert.equal(c.storage.filesystem.rootdirectory, "/srv/blobs");
    assert.equal(c.storage.delete.enabled, false);
    assert.equal(c.log.level, "warn");
    assert.equal(c.http.secret, "s");
    assert.deepEqual(c.berth.metadata, { driver: "kv", path: "/srv/berth/metadata.kv" });
    assert.equal(c.berth.manifests.maxbytes, 8388608);
  });
  await t.step("REGISTRY_STORAGE=s3 switches the driver", () => {
    const c = buildConfig({ storage: { filesystem: { rootdirectory: "/x" } } }, {
      REGISTRY_STORAGE: "s3",
      REGISTRY_STORAGE_S3_REGION: "us-east-1",
      REGISTRY_STORAGE_S3_BUCKET: "images",
      REGISTRY_STORAGE_S3_REGIONENDPOINT: "http://127.0.0.1:9000",
      REGISTRY_STORAGE_S3_FORCEPATHSTYLE: "true",
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: "SECRET",
    });
    assert.equal(c.storage.driver, "s3");
    assert.equal(c.storage.s3?.bucket, "images");
    assert.equal(c.storage.s3?.forcepathstyle, true);
    assert.equal(c.storage.s3?.accesskey, "AKID");
    assert.equal(c.storage.s3?.secretkey, "SECRET");
    assert.equal(c.storage.s3?.chunksize, 10 * 1024 * 1024);
  });
  await t.step("REGISTRY_BERTH_METADATA_URL selects KV Connect", () => {
    const c = buildConfig({}, { REGISTRY_BERTH_METADATA_URL: "https://kv.example.com/db" });
    assert.deepEqual(c.berth.metadata, { driver: "kv", url: "https://kv.example.com/db" });
  });
});

Deno.test("config: invalid settings stop start-up, naming the setting", () => {
  configError(() => buildConfig({ http: { addr: "abc" } }), "http.addr", /"abc"/);
  configError(() => buildConfig({ http: { addr: ":99999" } }), "http.addr", /99999/);
  configError(() => buildConfig({ http: { host: "ftp://x" } }), "http.host", /http\(s\) URL/);
  configError(
    () => buildConfig({ http: { host: "https://x/path" } }),
    "http.host",
    /without a path/,
  );
  configError(
    () => buildConfig({ http: { tls: { certificate: "x" } } }),
    "http.tls",
    /not supported/,
  );
  configError(
    () => buildConfig({ storage: { delete: { enabeld: true } } }),
    "storage.delete.enabeld",
    /not a known setting/,
  );
  configError(
    () => buildConfig({ storage: { delete: { enabled: "yes" } } }),
    "storage.delete.enabled",
    /true or false/,
  );
  configError(() => buildConfig({ storge: {} }), "storge", /not a known setting/);
  configError(() => buildConfig({ storage: { filesystem: {}, s3: {} } }), "storage", /one driver/);
  configError(
    () => buildConfig({ storage: { s3: { bucket: "b" } } }),
    "storage.s3.region",
    /required/,
  );
  configError(
    () => buildConfig({ storage: { s3: { region: "r" } } }),
    "storage.s3.bucket",
    /required/,
  );
  configError(
    () => buildConfig({ storage: { s3: { region: "r", bucket: "b", chunksize: 1024 } } }),
    "storage.s3.chunksize",
    /at least 5242880/,
  );
  configError(
    () => buildConfig({ log: { level: "loud" } }),
    "log.level",
    /one of debug, info, warn, error/,
  );
  configError(
    () => buildConfig({ berth: { metadata: { driver: "memory", path: "x" } } }),
    "berth.metadata",
    /neither/,
  );
  configError(
    () => buildConfig({ berth: { metadata: { path: "x", url: "https://y" } } }),
    "berth.metadata",
    /not both/,
  );
  configError(
    () => buildConfig({ berth: { metadata: { url: "redis://y" } } }),
    "berth.metadata.url",
    /KV Connect/,
  );
  configError(
    () => buildConfig({ berth: { manifests: { maxbytes: 0 } } }),
    "berth.manifests.maxbytes",
    /integer/,
  );
  configError(
    () => buildConfig({ berth: { uploads: { sessionttl: 5 } } }),
    "berth.uploads.sessionttl",
    /duration/,
  );
  configError(() => buildConfig({ auth: "htpasswd" }), "auth", /mapping/);
  configError(() => buildConfig([]), "file", /mapping/);
});

Deno.test("config: where the file comes from", async (t) => {
  const read = (path: string) =>
    path === "/ok.yml"
      ? Promise.resolve("http:\n  addr: :6000\n")
      : Promise.reject(new Deno.errors.NotFound("no such file"));
  await t.step("serve <path>, <path>, --config <path>, REGISTRY_CONFIGURATION_PATH", async () => {
    for (const args of [["serve", "/ok.yml"], ["/ok.yml"], ["--config", "/ok.yml"]]) {
      assert.equal(
        (await loadConfig({ args, env: {}, readTextFile: read })).http.port,
        6000,
        args.join(" "),
      );
    }
    const c = await loadConfig({
      args: [],
      env: { REGISTRY_CONFIGURATION_PATH: "/ok.yml" },
      readTextFile: read,
    });
    assert.equal(c.http.port, 6000);
  });
  await t.step("no file: defaults", async () => {
    assert.equal((await loadConfig({ args: [], env: {}, readTextFile: read })).http.port, 5000);
  });
  await t.step("a missing file or bad YAML names the file", async () => {
    await assert.rejects(
      () => loadConfig({ args: ["/missing.yml"], env: {}, readTextFile: read }),
      (e: unknown) => e instanceof ConfigError && /"\/missing.yml" cannot be read/.test(e.message),
    );
    await assert.rejects(
      () =>
        loadConfig({
          args: ["/bad.yml"],
          env: {},
          readTextFile: () => Promise.resolve("http: [\n  addr"),
        }),
      (e: unknown) => e instanceof ConfigError && /not valid YAML/.test(e.message),
    );
  });
});

Deno.test("durations in Go's notation", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  for (const bad of ["", "5", "10x", "h", "-1s"]) assert.equal(parseDuration(bad), null, bad);
});
