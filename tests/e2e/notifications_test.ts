/**
 * @module
 * Webhook notifications end to end: a real receiver, skopeo pushing and pulling a
 * multi-layer image under HTTP Basic, then a mount and deletes over HTTP. Every event
 * arrives in distribution's envelope with the request that caused it and the user who
 * made it; filters, repository globs, signatures and CloudEvents hold per endpoint.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readEndpointStats } from "../../src/notifications/stats.ts";
import { skopeo } from "../clients/skopeo.ts";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { Layout } from "../helpers/images.ts";
import { duplicates, Receiver } from "../helpers/receiver.ts";

const EVENTS = "application/vnd.docker.distribution.events.v2+json";
const SECRET = "hook-secret";
const POLICY = { rules: [{ users: ["alice"], repositories: ["**"], actions: ["*"] }] };

// deno-lint-ignore no-explicit-any
type Event = Record<string, any>;

Deno.test("notifications: pushes, pulls, mounts and deletes reach each endpoint as configured", async (t) => {
  const receiver = await Receiver.start();
  const path = await htpasswdFile({ alice: "wonderland" });
  const reg = await startAuthRegistry({ htpasswd: { path }, policy: POLICY }, {
    doc: {
      notifications: {
        events: { includereferences: true },
        endpoints: [
          {
            name: "all",
            url: receiver.url("/all"),
            headers: { "X-Hook-Token": ["t0ken"] },
            backoff: "200ms",
          },
          {
            name: "filtered",
            url: receiver.url("/filtered"),
            secret: SECRET,
            ignoredmediatypes: ["application/octet-stream"],
            ignore: { actions: ["pull"] },
            repositories: ["team/app"],
          },
          {
            name: "ce",
            url: receiver.url("/ce"),
            format: "cloudevents",
            repositories: ["team/**"],
            ignore: { mediatypes: [], actions: ["pull"] },
          },
          { name: "off", url: receiver.url("/off"), disabled: true },
        ],
      },
    },
  });
  const alice = basic("alice", "wonderland");
  const layout = await Layout.create();
  const out = await Deno.makeTempDir({ prefix: "berth-notify-pull-" });
  const image = await layout.image([200_000, 50_000, 1000]);
  await layout.tag(image, "v1");
  const manifest = JSON.parse(new TextDecoder().decode(await layout.read(image.digest)));
  const blobs = [manifest.config, ...manifest.layers] as { digest: string; size: number }[];
  const all = () => receiver.events("/all") as Event[];
  const ofRepo = (repo: string) => all().filter((e) => e.target.repository === repo);
  /** The access-log line of the request an event names. */
  const requestLine = (e: Event) =>
    reg.logs.map((l) => JSON.parse(l)).find((l) =>
      l.msg === "request" && l.request_id === e.request.id
    );
  try {
    await t.step("skopeo's push: one event per blob and one for the manifest", async () => {
      await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        "alice:wonderland",
        `oci:${layout.dir}:v1`,
        `docker://${reg.host}/team/app:v1`,
      );
      await receiver.waitFor(() => ofRepo("team/app").length >= 4, 15_000, "the push events");
      const events = ofRepo("team/app");
      assert.deepEqual(events.map((e) => e.action), ["push", "push", "push", "push", "push"]);
      const blobEvents = events.slice(0, 4);
      assert.deepEqual(
        blobEvents.map((e) => e.target.digest).sort(),
        blobs.map((b) => b.digest).sort(),
      );
      for (const e of blobEvents) {
        const blob = blobs.find((b) => b.digest === e.target.digest)!;
        assert.deepEqual(e.target, {
          mediaType: "application/octet-stream",
          digest: blob.digest,
          size: blob.size,
          length: blob.size,
          repository: "team/app",
          url: `http://${reg.host}/v2/team/app/blobs/${blob.digest}`,
        });
        const line = requestLine(e);
        assert.ok(line, `no request logged with id ${e.request.id}`);
        assert.equal(line.route, "upload-session");
        assert.equal(line.status, 201);
        assert.equal(e.request.method, line.method);
      }
      const pushed = events[4];
      assert.equal(pushed.target.mediaType, image.mediaType);
      assert.equal(pushed.target.digest, image.digest);
      assert.equal(pushed.target.size, image.size);
      assert.equal(pushed.target.length, image.size);
      assert.equal(pushed.target.tag, "v1");
      assert.equal(pushed.target.url, `http://${reg.host}/v2/team/app/manifests/${image.digest}`);
      assert.deepEqual(
        pushed.target.references,
        blobs.map((b, i) => ({
          mediaType: i === 0 ? manifest.config.mediaType : manifest.layers[i - 1].mediaType,
          digest: b.digest,
          size: b.size,
        })),
      );
      const line = requestLine(pushed);
      assert.deepEqual([line?.route, line?.method, line?.status], ["manifest", "PUT", 201]);
      for (const e of events) {
        assert.match(e.id, /^[0-9a-f-]{36}$/);
        assert.ok(Math.abs(Date.parse(e.timestamp) - Date.now()) < 60_000, e.timestamp);
        assert.deepEqual(e.actor, { name: "alice" });
        assert.equal(e.request.host, reg.host);
        assert.equal(e.request.addr, "127.0.0.1");
        assert.match(e.request.useragent, /containers|skopeo/i);
        assert.equal(e.source.instanceID, reg.runtime.instances.self.boot);
        assert.match(e.source.addr, /:\d+$/);
      }
      const first = receiver.accepted("/all")[0];
      assert.equal(first.headers.get("content-type"), EVENTS);
      assert.equal(first.headers.get("x-hook-token"), "t0ken");
      assert.equal(first.headers.get("berth-signature"), null, "unsigned without a secret");
    });

    await t.step("skopeo's pull: the manifest by tag and every blob", async () => {
      const before = ofRepo("team/app").length;
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        "alice:wonderland",
        `docker://${reg.host}/team/app:v1`,
        `oci:${out}:v1`,
      );
      const pulls = () => ofRepo("team/app").slice(before).filter((e) => e.action === "pull");
      await receiver.waitFor(() => pulls().length >= 5, 15_000, "the pull events");
      const manifestPull = pulls().find((e) => e.target.digest === image.digest);
      assert.equal(manifestPull?.target.tag, "v1");
      assert.equal(manifestPull?.target.mediaType, image.mediaType);
      assert.equal(manifestPull?.target.references?.length, blobs.length);
      for (const b of blobs) {
        const pull = pulls().find((e) => e.target.digest === b.digest);
        assert.ok(pull, `no pull event for ${b.digest}`);
        assert.equal(pull.target.mediaType, "application/octet-stream");
        assert.equal(pull.request.method, "GET");
        assert.deepEqual(pull.actor, { name: "alice" });
      }
    });

    await t.step("a mount, and deletes of a tag, a manifest and a blob", async () => {
      const layer = manifest.layers[0];
      const mount = await fetch(
        `${reg.url}/v2/team/copy/blobs/uploads/?mount=${layer.digest}&from=team/app`,
        { method: "POST", headers: { ...alice, "X-Request-Id": "req-mount" } },
      );
      assert.equal(mount.status, 201);
      const del = async (path: string, id: string) => {
        const res = await fetch(`${reg.url}/v2/${path}`, {
          method: "DELETE",
          headers: { ...alice, "X-Request-Id": id },
        });
        assert.equal(res.status, 202, await res.text());
      };
      await del("team/app/manifests/v1", "req-untag");
      await del(`team/app/manifests/${image.digest}`, "req-delete-manifest");
      await del(`team/copy/blobs/${layer.digest}`, "req-delete-blob");
      await receiver.waitFor(
        () => all().some((e) => e.request.id === "req-delete-blob"),
        10_000,
        "the delete events",
      );
      const byRequest = (id: string) => all().filter((e) => e.request.id === id);
      const [mounted] = byRequest("req-mount");
      assert.equal(mounted.action, "mount");
      assert.deepEqual(mounted.target, {
        mediaType: "application/octet-stream",
        digest: layer.digest,
        size: layer.size,
        length: layer.size,
        repository: "team/copy",
        fromRepository: "team/app",
        url: `http://${reg.host}/v2/team/copy/blobs/${layer.digest}`,
      });
      const [untag] = byRequest("req-untag");
      assert.equal(untag.action, "delete");
      assert.deepEqual(untag.target, { repository: "team/app", tag: "v1" });
      assert.equal(untag.request.method, "DELETE");
      assert.deepEqual(byRequest("req-delete-manifest").map((e) => [e.action, e.target]), [
        ["delete", { digest: image.digest, repository: "team/app" }],
      ]);
      assert.deepEqual(byRequest("req-delete-blob").map((e) => [e.action, e.target]), [
        ["delete", { digest: layer.digest, repository: "team/copy" }],
      ]);
      // The other endpoints deliver on their own schedule: wait until every queue is empty.
      const enabled = reg.config.notifications!.endpoints.filter((e) => !e.disabled);
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        const stats = await readEndpointStats(reg.runtime.drivers.metadata, enabled);
        if (stats.every((s) => s.pending === 0)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    await t.step("events of each repository arrive in the order they happened", () => {
      const actions = ofRepo("team/app").map((e) => e.action);
      const firstPull = actions.indexOf("pull");
      assert.ok(firstPull > 4, "pulls after the push");
      assert.ok(actions.lastIndexOf("push") < firstPull);
      assert.ok(actions.indexOf("delete") > actions.lastIndexOf("pull"), actions.join(","));
      assert.equal(duplicates(all()).size, 0);
    });

    await t.step(
      "ignore, ignoredmediatypes and repositories filter; the signature verifies",
      () => {
        const events = receiver.events("/filtered") as Event[];
        assert.deepEqual(
          events.map((e) => [e.action, e.target.repository, e.target.tag ?? e.target.digest]),
          [
            ["push", "team/app", "v1"],
            ["delete", "team/app", "v1"],
            ["delete", "team/app", image.digest],
          ],
        );
        const ids = new Set(all().map((e) => e.id));
        assert.ok(events.every((e) => ids.has(e.id)), "the same ids on every endpoint");
        for (const d of receiver.accepted("/filtered")) {
          const header = d.headers.get("berth-signature") ?? "";
          const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
          assert.ok(m, `signature header "${header}"`);
          assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 60);
          const expected = createHmac("sha256", SECRET).update(`${m[1]}.${d.body}`).digest("hex");
          assert.equal(m[2], expected);
          const forged = createHmac("sha256", "other").update(`${m[1]}.${d.body}`).digest("hex");
          assert.notEqual(m[2], forged);
        }
        assert.equal(receiver.deliveries.filter((d) => d.path === "/off").length, 0);
      },
    );

    await t.step("a CloudEvents endpoint gets a batch with the required attributes", () => {
      const deliveries = receiver.accepted("/ce");
      assert.ok(deliveries.length > 0);
      for (const d of deliveries) {
        assert.equal(d.headers.get("content-type"), "application/cloudevents-batch+json");
      }
      const events = deliveries.flatMap((d) => d.events) as Event[];
      assert.deepEqual(
        [...new Set(events.map((e) => e.type))].sort(),
        ["berth.registry.delete", "berth.registry.mount", "berth.registry.push"],
      );
      for (const e of events) {
        assert.equal(e.specversion, "1.0");
        assert.match(e.id, /^[0-9a-f-]{36}$/);
        assert.equal(e.id, e.data.id);
        assert.equal(e.source, `http://${reg.host}`);
        assert.ok(!Number.isNaN(Date.parse(e.time)));
        assert.equal(e.datacontenttype, "application/json");
        assert.ok(e.subject.startsWith(e.data.target.repository));
        assert.ok(e.data.target.repository.startsWith("team/"));
      }
      const push = events.find((e) => e.data.target.tag === "v1" && e.type.endsWith("push"));
      assert.equal(push?.subject, "team/app:v1");
    });

    await t.step("statistics: nothing pending, every delivery counted", async () => {
      const stats = await readEndpointStats(
        reg.runtime.drivers.metadata,
        reg.config.notifications!.endpoints,
      );
      for (const s of stats.filter((s) => s.name !== "off")) {
        assert.equal(s.pending, 0, s.name);
        assert.equal(s.oldestPendingMs, null);
        assert.equal(s.failures, 0);
        assert.equal(s.lastStatus, 200);
        assert.equal(s.delivered, receiver.events(`/${s.name}`).length, s.name);
        assert.equal(s.deliveries, receiver.accepted(`/${s.name}`).length, s.name);
      }
    });
  } finally {
    await reg.close();
    await receiver.close();
    await layout.remove();
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.remove(path).catch(() => {});
  }
});
