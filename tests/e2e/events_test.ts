/**
 * @module
 * Every change the registry makes and every pull yields a typed event carrying who asked
 * (request id, user, address, user agent), and a sink's outbox mutations are committed
 * in the very commit that makes the change. Without a sink nothing is written.
 */
import assert from "node:assert/strict";
import type { Mutation } from "../../drivers/metadata/types.ts";
import type { EventSink, RegistryEvent } from "../../src/registry/events.ts";
import { startRegistry } from "../helpers/registry.ts";
import { pushBlob, pushImage, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";

/** A sink that keeps what it is told and writes one outbox record per recorded event. */
function recordingSink() {
  const recorded: RegistryEvent[][] = [];
  const notified: RegistryEvent[] = [];
  const sink: EventSink = {
    record(events) {
      recorded.push([...events]);
      return events.map((e): Mutation => ({
        type: "set",
        key: ["test-outbox", e.id],
        value: { type: e.type, repository: e.repository },
      }));
    },
    notify(events) {
      notified.push(...events);
    },
  };
  return { sink, recorded, notified };
}

Deno.test("changes and pulls yield typed events with their request, committed with the change", async (t) => {
  const { sink, notified } = recordingSink();
  const reg = await startRegistry({ sinks: [sink] });
  const store = reg.runtime.drivers.metadata;
  const headers = { "X-Request-Id": "req-push-1", "User-Agent": "events-test/1" };
  const outbox = async () =>
    (await Array.fromAsync(store.list<{ type: string }>(["test-outbox"]))).map((e) => ({
      id: e.key[1],
      type: e.value.type,
    }));
  const ofType = (type: string) => notified.filter((e) => e.type === type);
  try {
    await t.step("a blob push, monolithic and chunked", async () => {
      const data = randomBytes(5000);
      const res = await fetch(`${reg.url}/v2/ev/app/blobs/uploads/?digest=${sha256(data)}`, {
        method: "POST",
        body: data as BodyInit,
        headers,
      });
      assert.equal(res.status, 201);
      const [pushed] = ofType("blob.pushed");
      assert.ok(pushed && pushed.type === "blob.pushed");
      assert.equal(pushed.digest, sha256(data));
      assert.equal(pushed.size, 5000);
      assert.equal(pushed.repository, "ev/app");
      assert.equal(pushed.context.requestId, "req-push-1");
      assert.equal(pushed.context.userAgent, "events-test/1");
      assert.equal(pushed.context.addr, "127.0.0.1");
      assert.equal(pushed.context.method, "POST");
      assert.equal(pushed.context.actor, null);
      assert.deepEqual(await outbox(), [{ id: pushed.id, type: "blob.pushed" }]);

      const chunked = randomBytes(3000);
      const post = await fetch(`${reg.url}/v2/ev/app/blobs/uploads/`, { method: "POST" });
      await post.body?.cancel();
      assert.equal(notified.length, 1, "opening a session is no change worth an event");
      const put = await fetch(
        `${reg.url}${post.headers.get("location")}&digest=${sha256(chunked)}`,
        {
          method: "PUT",
          body: chunked as BodyInit,
          headers: { "X-Request-Id": "req-close" },
        },
      );
      assert.equal(put.status, 201);
      const last = notified.at(-1)!;
      assert.equal(last.type, "blob.pushed");
      assert.equal(last.context.requestId, "req-close");
    });

    await t.step("a manifest push moves its tags; a retag says what it replaced", async () => {
      const image = await pushImage(reg.url, "ev/app", 2);
      notified.length = 0;
      const res = await fetch(`${reg.url}/v2/ev/app/manifests/v1?tag=latest`, {
        method: "PUT",
        body: image.text,
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      });
      assert.equal(res.status, 201);
      assert.deepEqual(notified.map((e) => e.type), ["manifest.pushed", "tag.moved", "tag.moved"]);
      const pushed = notified[0];
      assert.ok(pushed.type === "manifest.pushed");
      assert.equal(pushed.digest, image.digest);
      assert.deepEqual(pushed.tags, ["v1", "latest"]);
      assert.deepEqual(pushed.references, [
        image.manifest.config.digest,
        ...image.manifest.layers.map((l) => l.digest),
      ]);
      const ids = new Set((await outbox()).map((e) => e.id));
      for (const e of notified) assert.ok(ids.has(e.id), `${e.type} has no outbox record`);

      const other = await pushImage(reg.url, "ev/app", 1);
      notified.length = 0;
      assert.equal((await putManifest(reg.url, "ev/app", "latest", other.text)).status, 201);
      const moved = notified.find((e) => e.type === "tag.moved");
      assert.ok(moved && moved.type === "tag.moved");
      assert.equal(moved.previous, image.digest);
      // Pushing the same manifest under the same tag again moves nothing.
      notified.length = 0;
      assert.equal((await putManifest(reg.url, "ev/app", "latest", other.text)).status, 201);
      assert.deepEqual(notified.map((e) => e.type), ["manifest.pushed"]);
    });

    await t.step("pulls are told, not committed", async () => {
      const before = (await outbox()).length;
      notified.length = 0;
      const res = await fetch(`${reg.url}/v2/ev/app/manifests/v1`, { headers });
      assert.equal(res.status, 200);
      const manifest = JSON.parse(await res.text());
      const blob = await fetch(`${reg.url}/v2/ev/app/blobs/${manifest.layers[0].digest}`);
      await blob.body?.cancel();
      const head = await fetch(`${reg.url}/v2/ev/app/manifests/v1`, { method: "HEAD" });
      await head.body?.cancel();
      assert.deepEqual(notified.map((e) => e.type), ["manifest.pulled", "blob.pulled"]);
      const pulled = notified[0];
      assert.ok(pulled.type === "manifest.pulled");
      assert.equal(pulled.tag, "v1");
      assert.equal(pulled.context.requestId, "req-push-1");
      assert.equal((await outbox()).length, before, "a pull wrote to the outbox");
    });

    await t.step("mounts and deletes of blobs, tags and manifests", async () => {
      const blob = await pushBlob(reg.url, "ev/app", "mounted bytes");
      notified.length = 0;
      const mount = await fetch(
        `${reg.url}/v2/ev/copy/blobs/uploads/?mount=${blob.digest}&from=ev/app`,
        { method: "POST" },
      );
      assert.equal(mount.status, 201);
      const mounted = notified[0];
      assert.ok(mounted.type === "blob.mounted");
      assert.equal(mounted.from, "ev/app");
      assert.equal(mounted.repository, "ev/copy");

      const image = await pushImage(reg.url, "ev/del", 1);
      assert.equal((await putManifest(reg.url, "ev/del", "a", image.text)).status, 201);
      assert.equal((await putManifest(reg.url, "ev/del", "b", image.text)).status, 201);
      notified.length = 0;
      const untag = await fetch(`${reg.url}/v2/ev/del/manifests/a`, { method: "DELETE" });
      assert.equal(untag.status, 202);
      const del = await fetch(`${reg.url}/v2/ev/del/manifests/${image.digest}`, {
        method: "DELETE",
      });
      assert.equal(del.status, 202);
      const unlink = await fetch(`${reg.url}/v2/ev/app/blobs/${blob.digest}`, {
        method: "DELETE",
      });
      assert.equal(unlink.status, 202);
      assert.deepEqual(
        notified.map((e) => [e.type, e.repository]),
        [
          ["tag.deleted", "ev/del"],
          ["tag.deleted", "ev/del"],
          ["manifest.deleted", "ev/del"],
          ["blob.deleted", "ev/app"],
        ],
      );
      const ids = new Set((await outbox()).map((e) => e.id));
      for (const e of notified) assert.ok(ids.has(e.id), `${e.type} has no outbox record`);
    });

    await t.step("a refused change yields no event", async () => {
      notified.length = 0;
      const bad = await fetch(`${reg.url}/v2/ev/app/blobs/uploads/?digest=${sha256("x")}`, {
        method: "POST",
        body: "not x",
      });
      await bad.body?.cancel();
      assert.equal(bad.status, 400);
      const missing = await fetch(`${reg.url}/v2/ev/app/manifests/nope`, { method: "DELETE" });
      await missing.body?.cancel();
      assert.deepEqual(notified, []);
    });
  } finally {
    await reg.close();
  }
});

Deno.test("without a sink, no event record is written", async () => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "quiet/app", 1);
    assert.equal((await putManifest(reg.url, "quiet/app", "v1", image.text)).status, 201);
    const prefixes = new Set<string>();
    for await (const e of reg.runtime.drivers.metadata.list([] as unknown as string[])) {
      prefixes.add(e.key[0]);
    }
    for (const p of prefixes) {
      assert.ok(
        [
          "blob",
          "repo",
          "repo-pushed",
          "layer",
          "linked",
          "manifest",
          "tag",
          "tagged",
          "tag-time",
          "config",
          "instance",
        ].includes(p),
        `unexpected record kind ${p}`,
      );
    }
  } finally {
    await reg.close();
  }
});
