import assert from "node:assert/strict";
import { buildConfig } from "../../src/config/mod.ts";
import { assertConfigError } from "../helpers/config.ts";

Deno.test("config: http.tls, with client CAs from the file or the environment", () => {
  const c = buildConfig({
    http: {
      tls: {
        certificate: "/etc/berth/cert.pem",
        key: "/etc/berth/key.pem",
        clientcas: ["/a.pem", "/b.pem"],
      },
    },
  });
  assert.deepEqual(c.http.tls, {
    certificate: "/etc/berth/cert.pem",
    key: "/etc/berth/key.pem",
    clientcas: ["/a.pem", "/b.pem"],
  });
  const env = buildConfig({}, {
    REGISTRY_HTTP_TLS_CERTIFICATE: "/c.pem",
    REGISTRY_HTTP_TLS_KEY: "/k.pem",
    REGISTRY_HTTP_TLS_CLIENTCAS: "[/a.pem, /b.pem]",
  });
  assert.deepEqual(env.http.tls?.clientcas, ["/a.pem", "/b.pem"]);
  const numbered = buildConfig({}, {
    REGISTRY_HTTP_TLS_CERTIFICATE: "/c.pem",
    REGISTRY_HTTP_TLS_KEY: "/k.pem",
    REGISTRY_HTTP_TLS_CLIENTCAS_0: "/only.pem",
  });
  assert.deepEqual(numbered.http.tls?.clientcas, ["/only.pem"]);
  assert.equal(buildConfig({}).http.tls, undefined);
  const ignored = buildConfig({
    http: { tls: { certificate: "c", key: "k", ciphersuites: ["x"] } },
  });
  assert.deepEqual(ignored.ignored, ["http.tls.ciphersuites"]);
});

Deno.test("config: http.draintimeout and http.debug", () => {
  const d = buildConfig({});
  assert.equal(d.http.draintimeout, 30_000);
  assert.equal(d.http.debug, undefined);
  const c = buildConfig({
    http: {
      draintimeout: "1m30s",
      debug: { addr: "127.0.0.1:5001", prometheus: { enabled: true } },
    },
  });
  assert.equal(c.http.draintimeout, 90_000);
  assert.deepEqual(c.http.debug, {
    addr: "127.0.0.1:5001",
    hostname: "127.0.0.1",
    port: 5001,
    prometheus: { enabled: true, path: "/metrics" },
  });
  const env = buildConfig({}, {
    REGISTRY_HTTP_DEBUG_ADDR: ":5001",
    REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED: "true",
    REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH: "/prom",
  });
  assert.deepEqual(env.http.debug?.prometheus, { enabled: true, path: "/prom" });
  assert.equal(env.http.debug?.hostname, "0.0.0.0");
});

Deno.test("config: health, in distribution's shape", () => {
  const c = buildConfig({
    health: {
      storagedriver: { enabled: true, interval: "5s", threshold: 3 },
      file: [{ file: "/srv/maintenance" }],
      http: [{
        uri: "http://db:8080/ping",
        headers: { Authorization: ["Bearer x"] },
        statuscode: 204,
      }],
      tcp: [{ addr: "redis:6379", timeout: "1s", interval: "2s", threshold: 2 }],
    },
  });
  assert.deepEqual(c.health, {
    storagedriver: { enabled: true, interval: 5000, threshold: 3 },
    file: [{ file: "/srv/maintenance", interval: 10_000, threshold: 0 }],
    http: [{
      uri: "http://db:8080/ping",
      headers: { Authorization: ["Bearer x"] },
      statuscode: 204,
      timeout: 10_000,
      interval: 10_000,
      threshold: 0,
    }],
    tcp: [{
      addr: "redis:6379",
      hostname: "redis",
      port: 6379,
      timeout: 1000,
      interval: 2000,
      threshold: 2,
    }],
  });
  const env = buildConfig({}, { REGISTRY_HEALTH_TCP_0_ADDR: "127.0.0.1:5432" });
  assert.equal(env.health?.tcp[0].port, 5432);
  assert.equal(buildConfig({}).health, undefined);
});

Deno.test("config: bad TLS, debug and health settings stop start-up, naming them", () => {
  const cases: [unknown, string, RegExp][] = [
    [{ http: { tls: { key: "k" } } }, "http.tls", /needs both certificate and key/],
    [
      { http: { tls: { certificate: "c", key: "k", clientauth: "request-client-cert" } } },
      "http.tls.clientauth",
      /require-and-verify-client-cert/,
    ],
    [
      { http: { tls: { certificate: "c", key: "k", minimumtls: "tls1.3" } } },
      "http.tls.minimumtls",
      /got "tls1.3"/,
    ],
    [
      { http: { tls: { certificate: "c", key: "k", clientcas: [""] } } },
      "http.tls.clientcas",
      /list of file paths/,
    ],
    [
      { http: { tls: { letsencrypt: { cachefile: "x" } } } },
      "http.tls.letsencrypt",
      /not supported/,
    ],
    [{ http: { draintimeout: "30" } }, "http.draintimeout", /duration with a unit/],
    [
      { http: { debug: { prometheus: { enabled: true } } } },
      "http.debug.prometheus",
      /needs http.debug.addr/,
    ],
    [{ http: { debug: { addr: "nope" } } }, "http.debug.addr", /must be "host:port"/],
    [
      { http: { debug: { addr: ":5001", prometheus: { path: "metrics" } } } },
      "http.debug.prometheus.path",
      /must start with "\/"/,
    ],
    [{ http: { debug: { addr: ":5001", pprof: {} } } }, "http.debug.pprof", /not a known setting/],
    [
      { health: { storagedriver: { enabled: "yes" } } },
      "health.storagedriver.enabled",
      /true or false/,
    ],
    [{ health: { tcp: [{ addr: "nohost" }] } }, "health.tcp.0.addr", /must be "host:port"/],
    [{ health: { tcp: [{}] } }, "health.tcp.0.addr", /is required/],
    [{ health: { http: [{ uri: "ftp://x" }] } }, "health.http.0.uri", /http\(s\) URL/],
    [
      { health: { http: [{ uri: "http://x", statuscode: 999 }] } },
      "health.http.0.statuscode",
      /100 to 599/,
    ],
    [
      { health: { file: [{ file: "/x", every: "1s" }] } },
      "health.file.0.every",
      /not a known setting/,
    ],
    [{ health: { file: { file: "/x" } } }, "health.file", /must be a list/],
    [
      { health: { storagedriver: { threshold: -1 } } },
      "health.storagedriver.threshold",
      /at least 0/,
    ],
  ];
  for (const [doc, setting, message] of cases) {
    assertConfigError(() => buildConfig(doc), setting, message);
  }
});
