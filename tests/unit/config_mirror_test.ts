import assert from "node:assert/strict";
import { buildConfig, loadConfig } from "../../src/config/mod.ts";
import { assertConfigError } from "../helpers/config.ts";

const HOUR = 3600_000;

Deno.test("config: distribution's proxy section reads unchanged, credentials from the environment", async () => {
  const yml = `
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
proxy:
  remoteurl: https://registry-1.docker.io
  ttl: 72h
`;
  const c = await loadConfig({
    args: ["serve", "/etc/docker/registry/config.yml"],
    env: { REGISTRY_PROXY_USERNAME: "alice", REGISTRY_PROXY_PASSWORD: "secret" },
    readTextFile: () => Promise.resolve(yml),
  });
  assert.deepEqual(c.proxy, {
    prefix: "",
    remoteurl: "https://registry-1.docker.io",
    username: "alice",
    password: "secret",
    ttl: 72 * HOUR,
    revalidate: 300_000,
    timeout: 30_000,
  });
  assert.deepEqual(c.berth.mirrors, []);
  assert.deepEqual(c.ignored, []);
});

Deno.test("config: proxy ttl 0 never expires; defaults are 168h, 5m and 30s", () => {
  const zero = buildConfig({ proxy: { remoteurl: "http://up:5000/", ttl: "0" } });
  assert.equal(zero.proxy?.ttl, 0);
  assert.equal(zero.proxy?.remoteurl, "http://up:5000");
  const d = buildConfig({}, { REGISTRY_PROXY_REMOTEURL: "https://quay.io" });
  assert.deepEqual([d.proxy?.ttl, d.proxy?.revalidate, d.proxy?.timeout], [
    168 * HOUR,
    300_000,
    30_000,
  ]);
  assert.equal(buildConfig({}).proxy, undefined);
});

Deno.test("config: berth.mirrors lists mirrors under prefixes, from the file or the environment", () => {
  const c = buildConfig({
    berth: {
      mirrors: [
        {
          prefix: "docker.io",
          remoteurl: "https://registry-1.docker.io",
          ttl: "168h",
          revalidate: "5m",
        },
        {
          prefix: "mirrors/quay",
          remoteurl: "https://quay.io",
          username: "u",
          password: "p",
          timeout: "10s",
        },
      ],
    },
  });
  assert.deepEqual(c.berth.mirrors, [
    {
      prefix: "docker.io",
      remoteurl: "https://registry-1.docker.io",
      ttl: 168 * HOUR,
      revalidate: 300_000,
      timeout: 30_000,
    },
    {
      prefix: "mirrors/quay",
      remoteurl: "https://quay.io",
      username: "u",
      password: "p",
      ttl: 168 * HOUR,
      revalidate: 300_000,
      timeout: 10_000,
    },
  ]);
  const env = buildConfig({}, {
    REGISTRY_BERTH_MIRRORS_0_PREFIX: "ghcr.io",
    REGISTRY_BERTH_MIRRORS_0_REMOTEURL: "https://ghcr.io",
    REGISTRY_BERTH_MIRRORS_0_REVALIDATE: "0",
    REGISTRY_BERTH_MIRRORS_1_PREFIX: "docker.io",
    REGISTRY_BERTH_MIRRORS_1_REMOTEURL: "https://registry-1.docker.io",
  });
  assert.deepEqual(env.berth.mirrors.map((m) => [m.prefix, m.revalidate]), [
    ["ghcr.io", 0],
    ["docker.io", 300_000],
  ]);
  const override = buildConfig(
    { berth: { mirrors: [{ prefix: "docker.io", remoteurl: "https://registry-1.docker.io" }] } },
    { REGISTRY_BERTH_MIRRORS_0_PASSWORD: "from-env", REGISTRY_BERTH_MIRRORS_0_USERNAME: "bot" },
  );
  assert.deepEqual([override.berth.mirrors[0].username, override.berth.mirrors[0].password], [
    "bot",
    "from-env",
  ]);
});

Deno.test("config: mistakes in proxy and berth.mirrors name the setting", () => {
  const up = "https://up.example";
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ proxy: { username: "a", password: "b" } }, "proxy.remoteurl", /is required/],
    [{ proxy: { remoteurl: "ftp://x" } }, "proxy.remoteurl", /http\(s\) URL.*got "ftp:\/\/x"/],
    [{ proxy: { remoteurl: "https://x/v2/" } }, "proxy.remoteurl", /without a path/],
    [{ proxy: { remoteurl: up, username: "a" } }, "proxy", /both username and password/],
    [{ proxy: { remoteurl: up, exec: { command: "x" } } }, "proxy.exec", /not supported/],
    [{ proxy: { remoteurl: up, ttll: "1h" } }, "proxy.ttll", /not a known setting/],
    [{ proxy: { remoteurl: up, ttl: "7 days" } }, "proxy.ttl", /duration/],
    [{ proxy: { remoteurl: up, timeout: "0" } }, "proxy.timeout", /positive duration/],
    [
      { proxy: { remoteurl: up }, berth: { mirrors: [{ prefix: "a", remoteurl: up }] } },
      "proxy",
      /exclude each other/,
    ],
    [{ berth: { mirrors: "docker.io" } }, "berth.mirrors", /must be a list of mirrors/],
    [{ berth: { mirrors: ["docker.io"] } }, "berth.mirrors.0", /must be a mapping/],
    [{ berth: { mirrors: [{ remoteurl: up }] } }, "berth.mirrors.0.prefix", /is required/],
    [
      { berth: { mirrors: [{ prefix: "Docker.IO", remoteurl: up }] } },
      "berth.mirrors.0.prefix",
      /repository name.*got "Docker.IO"/,
    ],
    [
      { berth: { mirrors: [{ prefix: "a", remoteurl: up }, { prefix: "a/b", remoteurl: up }] } },
      "berth.mirrors.1.prefix",
      /"a\/b" overlaps the prefix "a"/,
    ],
    [
      {
        berth: {
          mirrors: [{ prefix: "a", remoteurl: up }, { prefix: "b", remoteurl: up, ttll: "1h" }],
        },
      },
      "berth.mirrors.1.ttll",
      /is not a known setting/,
    ],
    [{ berth: { mirrors: [{ prefix: "a" }] } }, "berth.mirrors.0.remoteurl", /is required/],
  ];
  for (const [doc, setting, message] of cases) {
    assertConfigError(() => buildConfig(doc, {}), setting, message);
  }
  assertConfigError(
    () =>
      buildConfig({}, {
        REGISTRY_BERTH_MIRRORS_0_PREFIX: "a",
        REGISTRY_BERTH_MIRRORS_0_REMOTEURL: "x",
      }),
    "berth.mirrors.0.remoteurl",
    /got "x" \(set by REGISTRY_BERTH_MIRRORS_0_REMOTEURL\)/,
  );
});
