import assert from "node:assert/strict";
import { parse } from "yaml";
import { buildConfig, loadConfig } from "../../src/config/mod.ts";
import { assertConfigError } from "../helpers/config.ts";

/** The example of distribution's docs/content/about/notifications.md, as printed there. */
const NOTIFICATIONS_MD = `
notifications:
  endpoints:
    - name: alistener
      url: https://mylistener.example.com/event
      headers:
        Authorization: [Bearer <your token, if needed>]
      timeout: 500ms
      threshold: 5
      backoff: 1s
`;

/**
 * The \`notifications\` block of distribution's configuration reference
 * (docs/content/about/configuration.md). Its \`headers: <http.Header>\` is a placeholder
 * distribution itself refuses; here it is a real header list.
 */
const CONFIGURATION_MD = `
notifications:
  events:
    includereferences: true
  endpoints:
    - name: alistener
      disabled: false
      url: https://my.listener.com/event
      headers:
        X-Registry: [berth]
      timeout: 1s
      threshold: 10
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        mediatypes:
           - application/octet-stream
        actions:
           - pull
`;

const load = (yml: string) =>
  loadConfig({ args: ["/c.yml"], readTextFile: () => Promise.resolve(yml), env: {} });

Deno.test("notifications config: distribution's documented examples load unchanged", async () => {
  const a = await load(NOTIFICATIONS_MD);
  assert.deepEqual(a.ignored, []);
  assert.deepEqual(a.notifications, {
    includeReferences: false,
    endpoints: [{
      name: "alistener",
      disabled: false,
      url: "https://mylistener.example.com/event",
      // A YAML flow list: the comma makes two values, in distribution's parser too.
      headers: { Authorization: ["Bearer <your token", "if needed>"] },
      timeout: 500,
      threshold: 5,
      backoff: 1000,
      ignoredMediaTypes: [],
      ignoredActions: [],
      format: "distribution",
    }],
  });
  const b = await load(CONFIGURATION_MD);
  assert.equal(b.notifications?.includeReferences, true);
  const [e] = b.notifications!.endpoints;
  assert.deepEqual(e.ignoredMediaTypes, ["application/octet-stream", "application/octet-stream"]);
  assert.deepEqual(e.ignoredActions, ["pull"]);
  assert.equal(e.timeout, 1000);
  assert.equal(e.threshold, 10);
});

Deno.test("notifications config: distribution's defaults and Berth's own keys", () => {
  const c = buildConfig({
    notifications: {
      endpoints: [
        { name: "plain", url: "http://127.0.0.1:9/hook" },
        {
          name: "ci",
          url: "https://ci.example/hook",
          threshold: 0,
          format: "cloudevents",
          secret: "s3cret",
          repositories: ["team/**", "public/*"],
          maxage: "72h",
          ignore: { mediatypes: [], actions: ["pull", "mount"] },
        },
      ],
    },
  });
  const [plain, ci] = c.notifications!.endpoints;
  assert.deepEqual(
    [plain.timeout, plain.threshold, plain.backoff, plain.format, plain.secret],
    [1000, 10, 1000, "distribution", undefined],
  );
  assert.equal(ci.threshold, 10, "0 reads as distribution's default");
  assert.equal(ci.format, "cloudevents");
  assert.equal(ci.secret, "s3cret");
  assert.deepEqual(ci.repositories, ["team/**", "public/*"]);
  assert.equal(ci.maxage, 72 * 3600_000);
  assert.deepEqual(ci.ignoredActions, ["pull", "mount"]);
  assert.equal(buildConfig({}).notifications, undefined);
});

Deno.test("notifications config: endpoints from the environment alone", () => {
  const c = buildConfig({}, {
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_NAME: "env",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL: "http://hooks.internal/a",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_TIMEOUT: "2s",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_IGNORE_ACTIONS: "[pull, mount]",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION: "[Bearer t]",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_0_REPOSITORIES: "team/**",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_1_NAME: "second",
    REGISTRY_NOTIFICATIONS_ENDPOINTS_1_URL: "http://hooks.internal/b",
    REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES: "true",
  });
  const [a, b] = c.notifications!.endpoints;
  assert.equal(c.notifications!.includeReferences, true);
  assert.equal(a.timeout, 2000);
  assert.deepEqual(a.ignoredActions, ["pull", "mount"]);
  assert.deepEqual(a.headers, { authorization: ["Bearer t"] });
  assert.deepEqual(a.repositories, ["team/**"]);
  assert.equal(b.url, "http://hooks.internal/b");
});

Deno.test("notifications config: mistakes stop start-up naming the setting", () => {
  const endpoint = (extra: Record<string, unknown>) => ({
    notifications: { endpoints: [{ name: "a", url: "http://a.example/", ...extra }] },
  });
  const cases: [unknown, string, RegExp][] = [
    [endpoint({ tiemout: "1s" }), "notifications.endpoints.0.tiemout", /is not a known setting/],
    [
      endpoint({ ignore: { action: ["pull"] } }),
      "notifications.endpoints.0.ignore.action",
      /known/,
    ],
    [endpoint({ url: "ftp://x" }), "notifications.endpoints.0.url", /must be an http\(s\) URL/],
    [endpoint({ url: undefined }), "notifications.endpoints.0.url", /is required/],
    [endpoint({ timeout: 5 }), "notifications.endpoints.0.timeout", /with a unit/],
    [endpoint({ backoff: "soon" }), "notifications.endpoints.0.backoff", /"soon"/],
    [endpoint({ threshold: -1 }), "notifications.endpoints.0.threshold", /whole number/],
    [endpoint({ format: "json" }), "notifications.endpoints.0.format", /distribution, cloudevents/],
    [
      endpoint({ ignore: { actions: ["pull", "get"] } }),
      "notifications.endpoints.0.ignore.actions.1",
      /must be one of push, pull, mount, delete, got "get"/,
    ],
    [
      endpoint({ repositories: ["Team/**"] }),
      "notifications.endpoints.0.repositories.0",
      /must be a repository glob .* got "Team\/\*\*"/,
    ],
    [endpoint({ secret: "" }), "notifications.endpoints.0.secret", /must not be empty/],
    [endpoint({ maxage: "0s" }), "notifications.endpoints.0.maxage", /positive duration/],
    [
      endpoint({ headers: "<http.Header>" }),
      "notifications.endpoints.0.headers",
      /must be a mapping of header lists, got "<http.Header>"/,
    ],
    [
      endpoint({ ignoredmediatypes: "application/octet-stream" }),
      "notifications.endpoints.0.ignoredmediatypes",
      /must be a list of non-empty strings/,
    ],
    [
      {
        notifications: {
          endpoints: [{ name: "a", url: "http://a/" }, { name: "a", url: "http://b/" }],
        },
      },
      "notifications.endpoints.1.name",
      /"a" names two endpoints/,
    ],
    [{ notifications: { endpoints: { url: "http://a/" } } }, "notifications.endpoints", /a list/],
    [
      endpoint({ url: "https://user:pw@hooks.example/x" }),
      "notifications.endpoints.0.url",
      /must not hold credentials/,
    ],
    [
      {
        notifications: {
          endpoints: Array.from({ length: 11 }, (_, i) => ({ name: `e${i}`, url: "http://a/" })),
        },
      },
      "notifications.endpoints",
      /may enable at most 10 endpoints .* got 11/,
    ],
    [
      { notifications: { events: { includerefs: true } } },
      "notifications.events.includerefs",
      /known/,
    ],
  ];
  for (const [doc, setting, message] of cases) {
    assertConfigError(() => buildConfig(doc), setting, message);
  }
  assertConfigError(
    () => buildConfig(endpoint({}), { REGISTRY_NOTIFICATIONS_ENDPOINTS_0_THRESHOLD: "many" }),
    "notifications.endpoints.0.threshold",
    /got "many" \(set by REGISTRY_NOTIFICATIONS_ENDPOINTS_0_THRESHOLD\)/,
  );
});
Deno.test("notifications config: the README's example loads", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const block = /## Notifications[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "README has a Notifications section with a YAML example");
  const c = buildConfig(parse(block[1]));
  assert.ok(c.notifications!.endpoints.length >= 1);
});
