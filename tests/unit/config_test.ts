import assert from "node:assert/strict";
import { buildConfig, type Config, loadConfig } from "../../src/config/mod.ts";
import { parseDuration } from "../../src/config/duration.ts";
import { assertConfigError, assertConfigRejects } from "../helpers/config.ts";

const MIB = 1024 * 1024;
const HOUR = 3600_000;

/** A config.yml as distribution's users write it. */
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
    maxthreads: 100
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 12h
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

const S3 = { region: "us-east-1", bucket: "images" };

Deno.test("config: an empty document gives Berth's defaults", () => {
  const expected: Config = {
    log: { level: "info", formatter: "json", accesslog: { disabled: false } },
    http: { addr: ":5000", hostname: "0.0.0.0", port: 5000, headers: {}, draintimeout: 30_000 },
    storage: {
      driver: "filesystem",
      filesystem: { rootdirectory: "./data/blobs" },
      delete: { enabled: true },
      redirect: { disable: true },
      maintenance: {
        uploadpurging: { enabled: true, age: 168 * HOUR, interval: 24 * HOUR, dryrun: false },
      },
    },
    berth: {
      datadir: "./data",
      metadata: { driver: "kv", path: "./data/metadata.kv" },
      manifests: { maxbytes: 4 * MIB },
      uploads: { hashing: "auto", sessionttl: 24 * HOUR, lease: 15_000, stalltimeout: 60_000 },
      ui: { enabled: true, sessionttl: 12 * HOUR },
      mirrors: [],
      http: { server: "auto" },
    },
    ignored: [],
  };
  // JSON drops the optional keys left undefined (host, secret, instanceid, s3, auth ...).
  assert.deepEqual(JSON.parse(JSON.stringify(buildConfig({}, {}))), expected);
  assert.deepEqual(JSON.parse(JSON.stringify(buildConfig({}))), expected);
});

Deno.test("config: distribution's config.yml loads; what Berth does not implement is listed", async () => {
  const c = await loadConfig({
    args: ["serve", "/etc/docker/registry/config.yml"],
    env: {},
    readTextFile: (path) => {
      assert.equal(path, "/etc/docker/registry/config.yml");
      return Promise.resolve(DISTRIBUTION_YML);
    },
  });
  assert.deepEqual(c.log, { level: "debug", formatter: "text", accesslog: { disabled: false } });
  assert.equal(c.storage.driver, "filesystem");
  assert.equal(c.storage.filesystem.rootdirectory, "/var/lib/registry");
  assert.equal(c.storage.delete.enabled, false);
  assert.deepEqual(c.storage.maintenance.uploadpurging, {
    enabled: true,
    age: 72 * HOUR,
    interval: 12 * HOUR,
    dryrun: false,
  });
  assert.equal(c.http.port, 5000);
  assert.equal(c.http.secret, "asecretforlocaldevelopment");
  assert.deepEqual(c.http.headers, { "X-Content-Type-Options": ["nosniff"] });
  assert.deepEqual(c.health?.storagedriver, { enabled: true, interval: 10_000, threshold: 3 });
  // `version` names the format and is not reported.
  const ignored = ["log.fields", "storage.cache", "storage.filesystem.maxthreads"];
  assert.deepEqual(c.ignored.sort(), ignored);
});

Deno.test("config: YAML details of distribution's files", async (t) => {
  await t.step("an empty `inmemory:` selects the driver", () => {
    assert.equal(buildConfig({ storage: { inmemory: null } }).storage.driver, "inmemory");
  });
  await t.step("an IPv6 listen address", () => {
    const c = buildConfig({ http: { addr: "[::1]:5001" } });
    assert.deepEqual([c.http.hostname, c.http.port], ["::1", 5001]);
  });
  await t.step("logstash is a JSON format", () => {
    assert.equal(buildConfig({ log: { formatter: "logstash" } }).log.formatter, "json");
  });
  await t.step("empty keys read as absent", () => {
    const c = buildConfig({ http: { secret: null, tls: null }, auth: null });
    assert.equal(c.http.secret, undefined);
    assert.equal(c.auth, undefined);
  });
  await t.step("merge keys, as distribution's YAML library reads them", async () => {
    const yml = "notifications:\n  endpoints:\n    - &base\n      name: a\n      url: http://a\n" +
      "    - <<: *base\n      name: b\n";
    const c = await loadConfig({
      args: ["/c.yml"],
      readTextFile: () => Promise.resolve(yml),
      env: {},
    });
    assert.deepEqual(
      c.notifications?.endpoints.map((e) => [e.name, e.url]),
      [["a", "http://a"], ["b", "http://a"]],
    );
  });
  await t.step("the document is not modified", () => {
    const doc = { storage: { filesystem: { rootdirectory: "/a" } } };
    buildConfig(doc, { REGISTRY_STORAGE: "inmemory" });
    assert.deepEqual(doc, { storage: { filesystem: { rootdirectory: "/a" } } });
  });
});

Deno.test("config: REGISTRY_* variables override the file", async (t) => {
  await t.step("distribution's names", () => {
    const c = buildConfig(
      { http: { addr: ":1" }, storage: { delete: { enabled: false } } },
      {
        REGISTRY_HTTP_ADDR: "127.0.0.1:8080",
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: "/srv/blobs",
        REGISTRY_STORAGE_DELETE_ENABLED: "true",
        REGISTRY_LOG_LEVEL: "warn",
        REGISTRY_LOG_ACCESSLOG_DISABLED: "TRUE",
        REGISTRY_HTTP_SECRET: "s3cret",
        REGISTRY_HTTP_HOST: "https://Registry.Example.com/",
        REGISTRY_BERTH_DATADIR: "/srv/berth/",
        REGISTRY_BERTH_MANIFESTS_MAXBYTES: "8388608",
        REGISTRY_BERTH_UPLOADS_SESSIONTTL: "1h30m",
        REGISTRY_BERTH_INSTANCEID: "a1",
      },
    );
    assert.equal(c.http.addr, "127.0.0.1:8080");
    assert.equal(c.http.hostname, "127.0.0.1");
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.host, "https://registry.example.com");
    assert.equal(c.storage.filesystem.rootdirectory, "/srv/blobs");
    assert.equal(c.storage.delete.enabled, true);
    assert.equal(c.log.level, "warn");
    assert.equal(c.log.accesslog.disabled, true);
    assert.equal(c.http.secret, "s3cret");
    assert.equal(c.berth.datadir, "/srv/berth");
    assert.deepEqual(c.berth.metadata, { driver: "kv", path: "/srv/berth/metadata.kv" });
    assert.equal(c.berth.manifests.maxbytes, 8 * MIB);
    assert.equal(c.berth.uploads.sessionttl, 1.5 * HOUR);
    assert.equal(c.berth.instanceid, "a1");
  });
  await t.step("REGISTRY_BERTH_DATADIR moves the derived defaults", () => {
    const c = buildConfig({}, { REGISTRY_BERTH_DATADIR: "/var/lib/berth" });
    assert.equal(c.storage.filesystem.rootdirectory, "/var/lib/berth/blobs");
    assert.equal(c.berth.metadata.path, "/var/lib/berth/metadata.kv");
  });
  await t.step("REGISTRY_BERTH_METADATA_URL selects KV Connect", () => {
    const c = buildConfig({}, { REGISTRY_BERTH_METADATA_URL: "https://kv.example.com/db" });
    assert.deepEqual(c.berth.metadata, { driver: "kv", url: "https://kv.example.com/db" });
  });
  await t.step("free-form maps: keys match in any case, new ones are lower case", () => {
    const c = buildConfig(
      {
        http: { headers: { "X-Frame-Options": ["DENY"] } },
        auth: { htpasswd: { realm: "r", path: "/a" } },
        notifications: { endpoints: [{ name: "a", url: "http://a" }] },
      },
      {
        "REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS": "SAMEORIGIN",
        "REGISTRY_HTTP_HEADERS_X-POWERED-BY": "[berth, deno]",
        REGISTRY_AUTH_HTPASSWD_PATH: "/etc/berth/htpasswd",
        REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL: "http://b",
        REGISTRY_NOTIFICATIONS_ENDPOINTS_1_NAME: "c",
        REGISTRY_NOTIFICATIONS_ENDPOINTS_1_URL: "http://c",
        REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io",
      },
    );
    assert.deepEqual(c.http.headers, {
      "X-Frame-Options": ["SAMEORIGIN"],
      "x-powered-by": ["berth", "deno"],
    });
    assert.deepEqual(c.auth, { htpasswd: { realm: "r", path: "/etc/berth/htpasswd" } });
    assert.deepEqual(
      c.notifications?.endpoints.map((e) => [e.name, e.url]),
      [["a", "http://b"], ["c", "http://c"]],
    );
    assert.deepEqual(c.proxy, {
      prefix: "",
      remoteurl: "https://registry-1.docker.io",
      ttl: 168 * HOUR,
      revalidate: 300_000,
      timeout: 30_000,
    });
  });
  await t.step("REGISTRY_AUTH selects a mechanism and keeps the policy", () => {
    const c = buildConfig(
      { auth: { token: { realm: "x" }, policy: { rules: [] } } },
      { REGISTRY_AUTH: "htpasswd", REGISTRY_AUTH_HTPASSWD_PATH: "/h" },
    );
    assert.deepEqual(c.auth, { htpasswd: { path: "/h" }, policy: { rules: [] } });
  });
  await t.step("variables naming no section are listed, not applied", () => {
    // Kubernetes' service links for a service called `registry`, and podman's auth file.
    const c = buildConfig({}, {
      REGISTRY_SERVICE_HOST: "10.0.0.1",
      REGISTRY_PORT: "tcp://10.0.0.1:5000",
      REGISTRY_AUTH_FILE: "/run/containers/auth.json",
      REGISTRY_CONFIGURATION_PATH: "/nowhere.yml",
      REGISTRY_REDIS_ADDR: "redis:6379",
    });
    assert.deepEqual(c.ignored.sort(), ["REGISTRY_PORT", "REGISTRY_SERVICE_HOST", "redis"]);
    assert.equal(c.auth, undefined);
  });
  await t.step("a refused value names the variable that set it", () => {
    assertConfigError(
      () => buildConfig({}, { REGISTRY_STORAGE_DELETE_ENABLED: "yes" }),
      "storage.delete.enabled",
      /must be true or false, got "yes" \(set by REGISTRY_STORAGE_DELETE_ENABLED\)/,
    );
    assertConfigError(
      () => buildConfig({}, { REGISTRY_HTTP_ADRR: ":80" }),
      "http.adrr",
      /is not a known setting \(set by REGISTRY_HTTP_ADRR\)/,
    );
    assertConfigError(
      () =>
        buildConfig({ notifications: { endpoints: [] } }, {
          REGISTRY_NOTIFICATIONS_ENDPOINTS_3_URL: "u",
        }),
      "notifications.endpoints.3",
      /must index the list \(0 to 0\), got "3"/,
    );
  });
});

Deno.test("config: berth.uploads.stalltimeout is a duration in milliseconds, 60s by default", () => {
  const stall = (doc: unknown, env: Record<string, string> = {}) =>
    buildConfig(doc, env).berth.uploads.stalltimeout;
  assert.equal(stall({}), 60_000);
  assert.equal(stall({ berth: { uploads: { stalltimeout: "2m30s" } } }), 150_000);
  assert.equal(stall({}, { REGISTRY_BERTH_UPLOADS_STALLTIMEOUT: "500ms" }), 500);
  assert.equal(
    stall(
      { berth: { uploads: { stalltimeout: "1h" } } },
      { REGISTRY_BERTH_UPLOADS_STALLTIMEOUT: "10s" },
    ),
    10_000,
    "the environment wins over the file",
  );
  const setting = "berth.uploads.stalltimeout";
  for (const [bad, shown] of [[60, "60"], ["0s", '"0s"'], ["soon", '"soon"'], [true, "true"]]) {
    assertConfigError(
      () => buildConfig({ berth: { uploads: { stalltimeout: bad } } }),
      setting,
      new RegExp(`must be a positive duration with a unit, .*got ${shown}$`),
    );
  }
  assertConfigError(
    () => buildConfig({}, { REGISTRY_BERTH_UPLOADS_STALLTIMEOUT: "30" }),
    setting,
    /duration with a unit.*got "30" \(set by REGISTRY_BERTH_UPLOADS_STALLTIMEOUT\)$/,
  );
  assertConfigError(
    () => buildConfig({ berth: { uploads: { stalltimeuot: "5s" } } }),
    "berth.uploads.stalltimeuot",
    /is not a known setting/,
  );
});

Deno.test("config: an invalid setting stops start-up, naming the setting", () => {
  const cases: [unknown, string, RegExp][] = [
    [{ http: { addr: "abc" } }, "http.addr", /must be "host:port" or ":port", got "abc"/],
    [{ http: { addr: ":99999" } }, "http.addr", /got ":99999"/],
    [{ http: { addr: "::1:5000" } }, "http.addr", /got "::1:5000"/],
    [{ http: { host: "ftp://x" } }, "http.host", /must be an http\(s\) URL, got "ftp:\/\/x"/],
    [{ http: { host: "registry.example.com" } }, "http.host", /http\(s\) URL/],
    [{ http: { host: "https://x/v2" } }, "http.host", /without a path or query, got ".*v2"/],
    [{ http: { host: "https://x?a=1" } }, "http.host", /without a path or query/],
    [{ http: { tls: { certificate: "c" } } }, "http.tls", /needs both certificate and key/],
    [{ http: { secret: "" } }, "http.secret", /must not be empty/],
    [{ http: { headers: ["a"] } }, "http.headers", /mapping of header lists/],
    [{ http: { headers: { "X-A": [1] } } }, "http.headers.X-A", /list of strings/],
    [{ http: { headers: { "Bad Name": ["x"] } } }, "http.headers.Bad Name", /not a header name/],
    [{ storge: {} }, "storge", /is not a known setting/],
    [{ storage: { delete: { enabeld: true } } }, "storage.delete.enabeld", /not a known setting/],
    [{ storage: { delete: { enabled: "yes" } } }, "storage.delete.enabled", /got "yes"/],
    [{ storage: { delete: true } }, "storage.delete", /must be a mapping, got true/],
    [{ storage: { filesystem: {}, s3: S3 } }, "storage", /one driver, got filesystem and s3/],
    [{ storage: { gcs: { bucket: "b" } } }, "storage.gcs", /not supported/],
    [
      { storage: { maintenance: { readonly: { enabled: true } } } },
      "storage.maintenance.readonly.enabled",
      /not supported/,
    ],
    [
      { storage: { maintenance: { uploadpurging: { age: 3600 } } } },
      "storage.maintenance.uploadpurging.age",
      /duration with a unit.*got 3600/,
    ],
    [
      { storage: { maintenance: { uploadpurging: { interval: "0s" } } } },
      "storage.maintenance.uploadpurging.interval",
      /positive duration/,
    ],
    [{ log: { level: "loud" } }, "log.level", /one of debug, info, warn, error, got "loud"/],
    [{ log: { formatter: "xml" } }, "log.formatter", /got "xml"/],
    [{ berth: { metadata: { driver: "memory", path: "x" } } }, "berth.metadata", /neither/],
    [{ berth: { metadata: { path: "x", url: "https://y" } } }, "berth.metadata", /not both/],
    [{ berth: { metadata: { url: "redis://y" } } }, "berth.metadata.url", /KV Connect URL/],
    [{ berth: { metadata: { driver: "sqlite" } } }, "berth.metadata.driver", /one of kv, memory/],
    [{ berth: { manifests: { maxbytes: 0 } } }, "berth.manifests.maxbytes", /at least 1, got 0/],
    [{ berth: { manifests: { maxbytes: 1.5 } } }, "berth.manifests.maxbytes", /got 1.5/],
    [{ berth: { uploads: { sessionttl: 5 } } }, "berth.uploads.sessionttl", /duration/],
    [{ berth: { uploads: { hashing: "fast" } } }, "berth.uploads.hashing", /auto, portable/],
    [{ berth: { cache: {} } }, "berth.cache", /not a known setting/],
    [{ auth: "htpasswd" }, "auth", /must be a mapping, got "htpasswd"/],
    [{ proxy: ["x"] }, "proxy", /must be a mapping/],
    [[], "file", /must be a YAML mapping/],
    ["text", "file", /must be a YAML mapping/],
  ];
  for (const [doc, setting, message] of cases) {
    assertConfigError(() => buildConfig(doc, {}), setting, message);
  }
});

Deno.test("config: where the file comes from", async (t) => {
  const files: Record<string, string> = { "/a.yml": "http:\n  addr: :6000\n", "/b.yml": "" };
  const read = (path: string) =>
    path in files
      ? Promise.resolve(files[path])
      : Promise.reject(new Deno.errors.NotFound(`No such file or directory: ${path}`));
  const port = async (args: string[], env: Record<string, string> = {}) =>
    (await loadConfig({ args, env, readTextFile: read })).http.port;

  await t.step("serve <path>, <path>, --config <path>, --config=<path>", async () => {
    for (
      const args of [
        ["serve", "/a.yml"],
        ["/a.yml"],
        ["--config", "/a.yml"],
        ["serve", "--config", "/a.yml"],
        ["--config=/a.yml"],
      ]
    ) {
      assert.equal(await port(args), 6000, args.join(" "));
    }
  });
  await t.step("REGISTRY_CONFIGURATION_PATH, unless the arguments name a file", async () => {
    assert.equal(await port([], { REGISTRY_CONFIGURATION_PATH: "/a.yml" }), 6000);
    assert.equal(await port(["serve"], { REGISTRY_CONFIGURATION_PATH: "/a.yml" }), 6000);
    assert.equal(await port(["/b.yml"], { REGISTRY_CONFIGURATION_PATH: "/a.yml" }), 5000);
  });
  await t.step("no file: defaults and the environment", async () => {
    assert.equal(await port([]), 5000);
    assert.equal(await port(["serve"], { REGISTRY_HTTP_ADDR: ":7000" }), 7000);
    assert.equal(await port(["/b.yml"]), 5000, "an empty file");
  });
  await t.step("other arguments are refused", async () => {
    for (const args of [["serve", "/a.yml", "/b.yml"], ["--verbose"], ["--config"]]) {
      await assertConfigRejects(port(args), "args", /must be "\[serve\] <path>"/);
    }
  });
  await t.step("a missing file is named", async () => {
    await assertConfigRejects(port(["/missing.yml"]), "file", /"\/missing.yml" does not exist/);
    await assertConfigRejects(
      port([], { REGISTRY_CONFIGURATION_PATH: "/gone.yml" }),
      "REGISTRY_CONFIGURATION_PATH",
      /"\/gone.yml" does not exist/,
    );
  });
  await t.step("invalid YAML is reported with its line", async () => {
    files["/bad.yml"] = "http:\n  addr: :5000\n   secret: x\n";
    await assertConfigRejects(
      port(["/bad.yml"]),
      "file",
      /"\/bad.yml" is not valid YAML: .*at line 2, column 9/,
    );
    files["/dup.yml"] = "log:\n  level: info\nlog:\n  level: debug\n";
    await assertConfigRejects(
      port(["/dup.yml"]),
      "file",
      /not valid YAML: Map keys must be unique at line 3/,
    );
  });
  await t.step("the real file system by default", async () => {
    const path = await Deno.makeTempFile({ suffix: ".yml" });
    try {
      await Deno.writeTextFile(path, "http:\n  addr: 127.0.0.1:6001\n");
      assert.equal((await loadConfig({ args: [path], env: {} })).http.port, 6001);
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("durations in Go's notation", () => {
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("168h"), 168 * HOUR);
  for (const bad of ["", "5", "10x", "h", "-1s", "1d", "1h 30m"]) {
    assert.equal(parseDuration(bad), null, bad);
  }
});

Deno.test("config: berth.ui is on by default; enabled and sessionttl are checked", () => {
  assert.deepEqual(buildConfig({}).berth.ui, { enabled: true, sessionttl: 12 * HOUR });
  assert.deepEqual(
    buildConfig({ berth: { ui: { enabled: false, sessionttl: "30m" } } }).berth.ui,
    { enabled: false, sessionttl: 30 * 60_000 },
  );
  assert.equal(buildConfig({}, { REGISTRY_BERTH_UI_ENABLED: "false" }).berth.ui.enabled, false);
  assertConfigError(
    () => buildConfig({ berth: { ui: { enabled: "maybe" } } }),
    "berth.ui.enabled",
    /must be true or false, got "maybe"/,
  );
  assertConfigError(
    () => buildConfig({ berth: { ui: { sessionttl: 3600 } } }),
    "berth.ui.sessionttl",
    /positive duration with a unit/,
  );
  assertConfigError(
    () => buildConfig({ berth: { ui: { theme: "dark" } } }),
    "berth.ui.theme",
    /is not a known setting/,
  );
});
