import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { buildConfig } from "../../src/config/mod.ts";
import { createLogger, silentLogger } from "../../src/log.ts";
import { createNotifications } from "../../src/notifications/mod.ts";
import { Instances } from "../../src/registry/instances.ts";
import { Lifecycle } from "../../src/lifecycle.ts";
import { MetricsRegistry } from "../../src/metrics/registry.ts";
import { retryDelay } from "../../src/notifications/backoff.ts";
import { encodeBody, toCloudEvent } from "../../src/notifications/body.ts";
import { type NotificationEvent, toNotificationEvents } from "../../src/notifications/event.ts";
import { EndpointFilter } from "../../src/notifications/filter.ts";
import { Outbox } from "../../src/notifications/outbox.ts";
import { eventsOf, type QueuedEvent, queueHead, Sequencer } from "../../src/notifications/queue.ts";
import { sign, verifySignature } from "../../src/notifications/signature.ts";
import type { EventInput, RegistryEvent, RequestContext } from "../../src/registry/events.ts";

const D1 = "sha256:" + "1".repeat(64);
const D2 = "sha256:" + "2".repeat(64);
const ORIGIN = { source: { addr: "reg-1:5000", instanceID: "boot-1" } };
const CONTEXT: RequestContext = {
  actor: "alice",
  requestId: "req-1",
  addr: "10.0.0.9",
  userAgent: "docker/27",
  method: "PUT",
  host: "registry.local:5000",
};

function event(input: EventInput, context: Partial<RequestContext> = {}): RegistryEvent {
  return {
    ...input,
    id: "00000000-0000-4000-8000-000000000001",
    at: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    repository: "team/app",
    context: { ...CONTEXT, ...context },
  } as RegistryEvent;
}

Deno.test("notification events: each registry event in distribution's shape", async (t) => {
  await t.step("a blob push: target, request, actor and source as distribution has them", () => {
    const [e] = toNotificationEvents(event({ type: "blob.pushed", digest: D1, size: 42 }), ORIGIN);
    assert.deepEqual(e, {
      id: "00000000-0000-4000-8000-000000000001",
      timestamp: "2024-01-02T03:04:05.678Z",
      action: "push",
      target: {
        mediaType: "application/octet-stream",
        digest: D1,
        size: 42,
        length: 42,
        repository: "team/app",
        url: `http://registry.local:5000/v2/team/app/blobs/${D1}`,
      },
      request: {
        id: "req-1",
        addr: "10.0.0.9",
        host: "registry.local:5000",
        method: "PUT",
        useragent: "docker/27",
      },
      actor: { name: "alice" },
      source: { addr: "reg-1:5000", instanceID: "boot-1" },
    });
    // distribution's field order, for receivers that compare text.
    assert.deepEqual(Object.keys(e), [
      "id",
      "timestamp",
      "action",
      "target",
      "request",
      "actor",
      "source",
    ]);
  });
  await t.step("http.host names the URLs; anonymous callers have an empty actor", () => {
    const [e] = toNotificationEvents(
      event({ type: "blob.pulled", digest: D1, size: 1 }, { actor: null }),
      { ...ORIGIN, baseUrl: "https://registry.example.com" },
    );
    assert.equal(e.action, "pull");
    assert.equal(e.target.url, `https://registry.example.com/v2/team/app/blobs/${D1}`);
    assert.deepEqual(e.actor, {});
  });
  await t.step("a mount names where from; deletes carry only digest or tag", () => {
    const [m] = toNotificationEvents(
      event({ type: "blob.mounted", digest: D1, size: 5, from: "base/img" }),
      ORIGIN,
    );
    assert.equal(m.action, "mount");
    assert.equal(m.target.fromRepository, "base/img");
    for (const type of ["blob.deleted", "manifest.deleted"] as const) {
      const [d] = toNotificationEvents(event({ type, digest: D1 }), ORIGIN);
      assert.deepEqual([d.action, d.target], ["delete", { digest: D1, repository: "team/app" }]);
    }
    const [tag] = toNotificationEvents(
      event({ type: "tag.deleted", tag: "v1", digest: D1 }),
      ORIGIN,
    );
    assert.deepEqual(tag.target, { repository: "team/app", tag: "v1" });
    assert.deepEqual(
      toNotificationEvents(event({ type: "tag.moved", tag: "v1", digest: D1 }), ORIGIN),
      [],
    );
  });
  await t.step("a manifest pushed with two tags is one push per tag, each with a stable id", () => {
    const pushed = event({
      type: "manifest.pushed",
      digest: D2,
      size: 500,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      references: [D1],
      tags: ["v1", "latest"],
    });
    const events = toNotificationEvents(pushed, ORIGIN);
    assert.deepEqual(events.map((e) => e.target.tag), ["v1", "latest"]);
    assert.equal(events[0].id, pushed.id);
    assert.match(
      events[1].id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.notEqual(events[1].id, events[0].id);
    assert.equal(toNotificationEvents(pushed, ORIGIN)[1].id, events[1].id, "stable");
    assert.equal(events[0].target.url, `http://registry.local:5000/v2/team/app/manifests/${D2}`);
    assert.equal(events[0].target.references, undefined, "added at delivery when asked for");
    const untagged = toNotificationEvents({ ...pushed, tags: [] } as RegistryEvent, ORIGIN);
    assert.deepEqual(untagged.map((e) => [e.id, e.target.tag]), [[pushed.id, undefined]]);
    const [pull] = toNotificationEvents(
      event({ type: "manifest.pulled", digest: D2, size: 500, mediaType: "m", tag: "v1" }),
      ORIGIN,
    );
    assert.deepEqual([pull.action, pull.target.tag, pull.target.mediaType], ["pull", "v1", "m"]);
  });
  await t.step("headers a client chooses are cut to 256 characters", () => {
    const [e] = toNotificationEvents(
      event({ type: "blob.pulled", digest: D1, size: 1 }, { userAgent: "x".repeat(5000) }),
      ORIGIN,
    );
    assert.equal(e.request.useragent.length, 256);
  });
  await t.step("changes the registry makes itself name no host and no URL", () => {
    const [e] = toNotificationEvents(
      event({ type: "blob.deleted", digest: D1 }, { host: "", addr: "", actor: null }),
      ORIGIN,
    );
    assert.equal(e.request.host, undefined);
    assert.equal(e.request.addr, undefined);
  });
});

function notification(action: NotificationEvent["action"], repo: string, mediaType?: string) {
  return {
    ...toNotificationEvents(event({ type: "blob.deleted", digest: D1 }), ORIGIN)[0],
    action,
    target: { repository: repo, digest: D1, ...(mediaType ? { mediaType } : {}) },
  } as NotificationEvent;
}

Deno.test("endpoint filters: ignored actions and media types, repository globs", () => {
  const f = new EndpointFilter({
    ignoredMediaTypes: ["application/octet-stream"],
    ignoredActions: ["pull"],
    repositories: ["team/**", "public/*"],
  });
  assert.equal(f.accepts(notification("push", "team/app", "application/vnd.oci.m")), true);
  assert.equal(f.accepts(notification("push", "team/app", "application/octet-stream")), false);
  assert.equal(f.accepts(notification("pull", "team/app", "application/vnd.oci.m")), false);
  assert.equal(f.accepts(notification("delete", "team/a/b")), true, "deletes have no type");
  assert.equal(f.accepts(notification("push", "public/x/y", "m")), false);
  assert.equal(f.accepts(notification("push", "other", "m")), false);
  assert.equal(f.takes("pull"), false);
  assert.equal(f.takes("push"), true);
  const open = new EndpointFilter({ ignoredMediaTypes: [], ignoredActions: [] });
  assert.equal(open.accepts(notification("pull", "anything", "application/octet-stream")), true);
});

Deno.test("bodies: distribution's envelope and CloudEvents batches", () => {
  const events = toNotificationEvents(
    event({
      type: "manifest.pushed",
      digest: D2,
      size: 1,
      mediaType: "m",
      references: [],
      tags: ["v1"],
    }),
    ORIGIN,
  );
  const envelope = encodeBody(events, "distribution");
  assert.equal(envelope.contentType, "application/vnd.docker.distribution.events.v2+json");
  assert.deepEqual(JSON.parse(envelope.text), { events });
  const batch = encodeBody(events, "cloudevents");
  assert.equal(batch.contentType, "application/cloudevents-batch+json");
  assert.deepEqual(JSON.parse(batch.text), [{
    specversion: "1.0",
    id: events[0].id,
    source: "http://registry.local:5000",
    type: "berth.registry.push",
    time: "2024-01-02T03:04:05.678Z",
    subject: "team/app:v1",
    datacontenttype: "application/json",
    data: events[0],
  }]);
  const system = toCloudEvent(
    toNotificationEvents(event({ type: "blob.deleted", digest: D1 }, { host: "" }), ORIGIN)[0],
  );
  assert.equal(system.source, "urn:berth:boot-1");
  assert.equal(system.subject, `team/app@${D1}`);
});

Deno.test("signatures: HMAC-SHA256 over the timestamp and the exact body", () => {
  const body = '{"events":[]}';
  const header = sign("s3cret", body, 1_700_000_000.7);
  const hex = createHmac("sha256", "s3cret").update(`1700000000.${body}`).digest("hex");
  assert.equal(header, `t=1700000000,v1=${hex}`);
  const now = 1_700_000_100;
  assert.equal(verifySignature("s3cret", body, header, { now }), true);
  assert.equal(verifySignature("s3cret", body + " ", header, { now }), false, "body changed");
  assert.equal(verifySignature("other", body, header, { now }), false, "another secret");
  assert.equal(verifySignature("s3cret", body, header, { now: now + 600 }), false, "too old");
  assert.equal(verifySignature("s3cret", body, `t=1700000000,v1=${hex.slice(2)}`, { now }), false);
  assert.equal(verifySignature("s3cret", body, null, { now }), false);
});

Deno.test("retry delays: quick below the threshold, then doubling with jitter up to 8x backoff", () => {
  const ep = { threshold: 3, backoff: 1000 };
  const mid = () => 0.5; // no jitter
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelay(n, ep, mid)),
    [200, 200, 1000, 2000, 4000, 8000, 8000, 8000],
  );
  assert.equal(retryDelay(1, { threshold: 3, backoff: 50 }, mid), 50, "never above backoff");
  assert.equal(retryDelay(3, ep, () => 0), 800);
  assert.equal(retryDelay(3, ep, () => 0.999999), 1200);
});

Deno.test("sequence numbers: increasing in key order, unique per process, never back in time", () => {
  const a = new Sequencer("aaaa-1111");
  const b = new Sequencer("bbbb-2222");
  const seqs = [a.next(1000), a.next(1000), a.next(999), a.next(1001), b.next(1001)];
  assert.deepEqual([...seqs].sort(), seqs);
  assert.equal(new Set(seqs).size, seqs.length);
  assert.match(seqs[0], /^0000000001000-000000-aaaa1111$/);
  assert.match(seqs[2], /^0000000001000-000002-/, "a clock stepping back keeps the order");
});

/** A store whose commits fail until `healthy` is set. */
function flakyStore(inner: MetadataStore) {
  const state = { healthy: false };
  const store: MetadataStore = {
    name: "flaky",
    get: (key) => inner.get(key),
    getMany: (keys) => inner.getMany(keys),
    list: (prefix, options) => inner.list(prefix, options),
    commit: (checks, mutations) =>
      state.healthy ? inner.commit(checks, mutations) : Promise.reject(new Error("store is down")),
    health: () => inner.health(),
    close: () => inner.close(),
  };
  return { store, state };
}

Deno.test("outbox: changes queue in the commit, per accepting endpoint; pulls are buffered", async (t) => {
  const memory = new MemoryMetadataStore();
  const { store, state } = flakyStore(memory);
  let woken = 0;
  const outbox = new Outbox({
    endpoints: [
      { name: "all", filter: new EndpointFilter({ ignoredMediaTypes: [], ignoredActions: [] }) },
      {
        name: "pushes",
        filter: new EndpointFilter({ ignoredMediaTypes: [], ignoredActions: ["pull"] }),
      },
    ],
    origin: ORIGIN,
    sequencer: new Sequencer("t"),
    store: () => store,
    logger: silentLogger,
    queued: () => woken++,
    maxBuffered: 3,
  });
  await t.step("record: one queue entry per endpoint that takes each event", () => {
    const mutations = outbox.record([
      event({ type: "blob.pushed", digest: D1, size: 1 }),
      event({ type: "tag.moved", tag: "v1", digest: D2 }),
    ]);
    assert.deepEqual(mutations.map((m) => m.key.slice(0, 2)), [
      ["notify-queue", "all"],
      ["notify-queue", "pushes"],
    ]);
    assert.equal(mutations[0].key[2], mutations[1].key[2], "one sequence number per event");
    assert.equal(woken, 0, "nothing is woken before the commit");
    outbox.notify([event({ type: "blob.pushed", digest: D1, size: 1 })]);
    assert.equal(woken, 1);
  });
  await t.step("a manifest pushed with several tags is one entry standing for each push", () => {
    const pushed = event({
      type: "manifest.pushed",
      digest: D2,
      size: 9,
      mediaType: "m",
      references: [],
      tags: ["a", "b", "c"],
    });
    const mutations = outbox.record([pushed]);
    assert.equal(mutations.length, 2, "one per endpoint");
    const queued = (mutations[0] as { value: QueuedEvent }).value;
    assert.deepEqual(queued.tags, ["a", "b", "c"]);
    assert.deepEqual(
      eventsOf(queued),
      toNotificationEvents(pushed, ORIGIN),
      "the same events, ids and all, as if stored one by one",
    );
  });
  await t.step("pulls wait in memory, bounded; a store that fails keeps them", async () => {
    const pull = (n: number) => event({ type: "blob.pulled", digest: D1, size: n });
    outbox.notify([pull(1), pull(2), pull(3), pull(4)]);
    assert.equal(outbox.buffered, 3);
    assert.equal(outbox.dropped, 1);
    await assert.rejects(outbox.flush(), /store is down/);
    assert.equal(outbox.buffered, 3);
    state.healthy = true;
    await outbox.flush();
    assert.equal(outbox.buffered, 0);
    const queued = await queueHead(memory, "all", 10);
    assert.deepEqual(queued.map((q) => q.value.event.target.size), [1, 2, 3]);
    assert.deepEqual(await queueHead(memory, "pushes", 10), [], "ignores pulls");
    assert.equal(woken, 2);
  });
});

Deno.test("notifications capability: configured endpoints are logged without secrets; statistics while pending", async () => {
  const doc = (endpoints: unknown[]) => ({
    storage: { inmemory: {} },
    berth: { metadata: { driver: "memory" } },
    notifications: { endpoints },
  });
  const store = new MemoryMetadataStore();
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "info",
    instanceId: "t",
    write: (_, line) => lines.push(JSON.parse(line)),
  });
  const ctx = (config: ReturnType<typeof buildConfig>) => ({
    config,
    logger,
    instances: new Instances(store, "t"),
    drivers: { blobs: new MemoryBlobDriver(), metadata: store },
    metrics: new MetricsRegistry(),
    lifecycle: new Lifecycle(),
  });
  const endpoint = {
    name: "a",
    url: "http://127.0.0.1:9/hook?token=abc",
    secret: "s3cret",
    headers: { Authorization: ["Bearer xyz"] },
  };
  const cap = createNotifications(ctx(buildConfig(doc([endpoint]))))!;
  const configured = lines.find((l) => l.msg === "notifications: endpoint configured")!;
  assert.equal(configured.url, "http://127.0.0.1:9/hook");
  assert.deepEqual(configured.headers, ["Authorization"]);
  assert.equal(configured.signed, true);
  assert.doesNotMatch(JSON.stringify(lines), /xyz|s3cret|abc/);

  await store.commit(
    [],
    cap.sinks![0].record!([event({ type: "blob.pushed", digest: D1, size: 1 })]),
  );
  const job = cap.jobs!.find((j) => j.name === "notify-stats")!;
  assert.equal(job.fleet, "one");
  await job.run(new AbortController().signal);
  const logged = lines.filter((l) => l.msg === "notifications: endpoint statistics");
  assert.equal(logged.length, 1);
  assert.equal(logged[0].endpoint, "a");
  assert.equal(logged[0].pending, 1);
  assert.ok((logged[0].oldestPendingMs as number) >= 0);
  assert.deepEqual(cap.jobs!.map((j) => j.name).sort(), [
    "notify-pulls",
    "notify-stats",
    "notify:a",
  ]);

  assert.equal(createNotifications(ctx(buildConfig(doc([])))), null);
  assert.equal(createNotifications(ctx(buildConfig(doc([{ ...endpoint, disabled: true }])))), null);
});
