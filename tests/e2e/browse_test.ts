/**
 * @module
 * What the facade offers pages that show a registry: tags newest first (an index kept in
 * the commits that move and delete tags, backfilled once for older tags), the tags of a
 * manifest, quiet reads that record no pull, repository summaries and deduplicated
 * storage usage.
 */
import assert from "node:assert/strict";
import type { RegistryEvent } from "../../src/registry/events.ts";
import type { Repository } from "../../src/registry/repository.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import { RegistryError } from "../../src/errors.ts";
import { startRegistry } from "../helpers/registry.ts";
import { pushBlob, pushImage, putManifest } from "../helpers/oci.ts";

const who = {
  actor: null,
  requestId: "test",
  addr: "",
  userAgent: "",
  method: "GET",
  host: "",
};
const pause = () => new Promise((r) => setTimeout(r, 3));

Deno.test("tags list newest first, page by page, and follow moves and deletes", async () => {
  const reg = await startRegistry();
  try {
    const repo = reg.runtime.deps.registry.repository("browse/app", who);
    const a = await pushImage(reg.url, "browse/app", 1);
    const b = await pushImage(reg.url, "browse/app", 1);
    for (const tag of ["t1", "t2", "t3", "t4", "t5"]) {
      assert.equal((await putManifest(reg.url, "browse/app", tag, a.text)).status, 201);
      await pause();
    }
    const all = async (n: number) => {
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await repo.tags.recent(n, cursor);
        assert.ok(page.items.length <= n);
        names.push(...page.items.map((t) => t.name));
        cursor = page.next;
      } while (cursor !== null);
      return names;
    };
    assert.deepEqual(await all(2), ["t5", "t4", "t3", "t2", "t1"]);
    const first = await repo.tags.recent(1, null);
    assert.equal(first.items[0].digest, a.digest);
    assert.ok(first.items[0].updated > Date.now() - 60_000);

    // Moving t2 to another manifest makes it the newest, once.
    assert.equal((await putManifest(reg.url, "browse/app", "t2", b.text)).status, 201);
    assert.deepEqual(await all(10), ["t2", "t5", "t4", "t3", "t1"]);
    assert.equal((await repo.tags.recent(1, null)).items[0].digest, b.digest);
    // A tag deleted alone, then a manifest deleted with its tags.
    assert.equal(
      (await fetch(`${reg.url}/v2/browse/app/manifests/t4`, { method: "DELETE" })).status,
      202,
    );
    assert.deepEqual(await all(3), ["t2", "t5", "t3", "t1"]);
    assert.equal(
      (await fetch(`${reg.url}/v2/browse/app/manifests/${a.digest}`, { method: "DELETE" })).status,
      202,
    );
    assert.deepEqual(await all(3), ["t2"]);
    const index = await Array.fromAsync(reg.runtime.drivers.metadata.list(["tag-time"]));
    assert.equal(index.length, 1, "deleted tags left index entries behind");

    await assert.rejects(
      repo.tags.recent(5, "not-a-cursor"),
      (e: unknown) => e instanceof RegistryError && e.code === "PAGINATION_NUMBER_INVALID",
    );
    const none = reg.runtime.deps.registry.repository("browse/none", who);
    await assert.rejects(
      none.tags.recent(5, null),
      (e: unknown) => e instanceof RegistryError && e.code === "NAME_UNKNOWN",
    );
  } finally {
    await reg.close();
  }
});

Deno.test("tags written before the index are indexed on the first listing", async () => {
  const reg = await startRegistry();
  const store = reg.runtime.drivers.metadata;
  try {
    const img = await pushImage(reg.url, "browse/old", 1);
    for (const tag of ["old1", "old2", "old3"]) {
      assert.equal((await putManifest(reg.url, "browse/old", tag, img.text)).status, 201);
      await pause();
    }
    // As an older Berth left them: tag records, no index entries, no marker.
    const entries = await Array.fromAsync(store.list(["tag-time", "browse/old"]));
    await store.commit([], [
      ...entries.map((e) => ({ type: "delete" as const, key: e.key })),
      { type: "delete", key: ["tag-times-ready", "browse/old"] },
    ]);
    const repo = reg.runtime.deps.registry.repository("browse/old", who);
    const page = await repo.tags.recent(10, null);
    assert.deepEqual(page.items.map((t) => t.name), ["old3", "old2", "old1"]);
    assert.ok(await store.get(["tag-times-ready", "browse/old"]), "no marker after the backfill");
    assert.equal((await Array.fromAsync(store.list(["tag-time", "browse/old"]))).length, 3);
    // One entry lost (as a tag moved by an older instance would leave it): found again.
    const [one] = await Array.fromAsync(store.list(["tag-time", "browse/old"]));
    await store.commit([], [
      { type: "delete", key: one.key },
      { type: "delete", key: ["tag-times-ready", "browse/old"] },
    ]);
    const again = await repo.tags.recent(10, null);
    assert.deepEqual(again.items.map((t) => t.name), ["old3", "old2", "old1"]);
    assert.equal((await Array.fromAsync(store.list(["tag-time", "browse/old"]))).length, 3);
  } finally {
    await reg.close();
  }
});

Deno.test("quiet reads record no pull; pulls still do", async () => {
  const events: RegistryEvent[] = [];
  const reg = await startRegistry({
    sinks: [{ record: () => [], notify: (e) => void events.push(...e) }],
  });
  try {
    const img = await pushImage(reg.url, "browse/quiet", 1);
    assert.equal((await putManifest(reg.url, "browse/quiet", "v1", img.text)).status, 201);
    const repo: Repository = reg.runtime.deps.registry.repository("browse/quiet", who);
    events.length = 0;
    const looked = await repo.manifests.get("v1", { quiet: true });
    assert.equal(looked.digest.value, img.digest);
    assert.ok(looked.created && looked.created > Date.now() - 60_000, "no push time");
    const config = await repo.blobs.require(parseDigest(img.manifest.config.digest));
    await new Response(await repo.blobs.open(config, undefined, { quiet: true })).text();
    assert.deepEqual(events.map((e) => e.type), []);
    await repo.manifests.get("v1");
    await new Response(await repo.blobs.open(config)).text();
    assert.deepEqual(events.map((e) => e.type), ["manifest.pulled", "blob.pulled"]);
  } finally {
    await reg.close();
  }
});

Deno.test("a manifest's tags, a repository's summary and the registry's usage", async () => {
  const reg = await startRegistry();
  try {
    const registry = reg.runtime.deps.registry;
    const img = await pushImage(reg.url, "browse/sum", 2);
    for (const tag of ["b", "a", "c"]) {
      assert.equal((await putManifest(reg.url, "browse/sum", tag, img.text)).status, 201);
    }
    // The same image in a second repository: its blobs count once in the registry.
    const other = await pushImage(reg.url, "browse/other", 0);
    for (const l of img.manifest.layers) {
      const res = await fetch(
        `${reg.url}/v2/browse/other/blobs/uploads/?mount=${l.digest}&from=browse/sum`,
        { method: "POST" },
      );
      assert.equal(res.status, 201);
    }
    await pushBlob(reg.url, "browse/other", "x");
    assert.equal((await putManifest(reg.url, "browse/other", "v", other.text)).status, 201);

    const repo = registry.repository("browse/sum", who);
    const digest = parseDigest(img.digest);
    assert.deepEqual(await repo.manifests.tagsOf(digest, 10), {
      items: ["a", "b", "c"],
      more: false,
    });
    assert.deepEqual(await repo.manifests.tagsOf(digest, 2), { items: ["a", "b"], more: true });

    const layerBytes = img.manifest.layers.reduce((n, l) => n + l.size, 0);
    const summary = await repo.summary();
    assert.equal(summary.tags, 3);
    assert.equal(summary.manifests, 1);
    assert.equal(summary.blobs, 3); // config and two layers
    assert.equal(summary.bytes, img.size + img.manifest.config.size + layerBytes);
    assert.ok(summary.lastPush && summary.lastPush > Date.now() - 60_000);

    const usage = await registry.usage!();
    // Blob records: both configs, two shared layers, "x", and both manifests.
    assert.equal(usage.blobs, 7);
    assert.equal(
      usage.bytes,
      img.size + other.size + img.manifest.config.size + other.manifest.config.size +
        layerBytes + 1,
    );
    await assert.rejects(
      registry.repository("browse/none", who).summary(),
      (e: unknown) => e instanceof RegistryError && e.code === "NAME_UNKNOWN",
    );
  } finally {
    await reg.close();
  }
});
