/**
 * @module
 * Copying metadata between stores (on memory stores; the real KV file to PostgreSQL
 * and back is `tests/e2e/metadata_move_test.ts`): what is copied and left out, upload
 * sessions that keep expiring, batches within the commit limits, refusals that write
 * nothing, and a comparison that finds every difference.
 */
import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { compareStores, copyMetadata, CopyRefusedError } from "../../src/commands/metadata_copy.ts";
import { meta } from "../../src/registry/keys.ts";

const set = (key: readonly string[], value: unknown): Mutation => ({ type: "set", key, value });
const keys = async (store: MetadataStore) =>
  (await Array.fromAsync(store.list([]))).map((e) => e.key.join("/"));

/** A small registry's records, plus a heartbeat and a lease of stopped instances. */
async function registryLike(): Promise<MemoryMetadataStore> {
  const store = new MemoryMetadataStore();
  await store.commit([], [
    set(meta.repo("app"), { created: 1 }),
    set(meta.tag("app", "v1"), { digest: "sha256:aa", updated: 2 }),
    set(meta.manifest("app", "sha256:aa"), { size: 10, refs: { blobs: ["sha256:bb"] } }),
    set(meta.blob("sha256:bb"), { size: 3, created: 1 }),
    set(meta.upload("u1"), { id: "u1", offset: 5, writer: null }),
    set(meta.uploadSecret(), "secret"),
    set(meta.instance("old"), { boot: "b", until: Date.now() - 1_000 }),
    set(meta.lease("upload-purge"), { instance: "old", boot: "b", until: 0 }),
  ]);
  return store;
}

Deno.test("metadata copy: every record but heartbeats and leases, verified alike", async () => {
  const from = await registryLike();
  const to = new MemoryMetadataStore();
  const report = await copyMetadata(from, to, { sessionTtlMs: 60_000 });
  assert.equal(report.copied, 6);
  assert.equal(report.skipped, 2);
  assert.deepEqual(report.verified, { same: 6, different: 0, examples: [] });
  assert.deepEqual(await keys(to), [
    "blob/sha256:bb",
    "config/upload-secret",
    "manifest/app/sha256:aa",
    "repo/app",
    "tag/app/v1",
    "upload/u1",
  ]);
  assert.deepEqual((await to.get(meta.tag("app", "v1")))?.value, {
    digest: "sha256:aa",
    updated: 2,
  });
});

Deno.test("metadata copy: upload sessions keep expiring in the target", async () => {
  const from = await registryLike();
  const to = new MemoryMetadataStore();
  await copyMetadata(from, to, { sessionTtlMs: 30 });
  assert.ok(await to.get(meta.upload("u1")));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await to.get(meta.upload("u1")), null);
  assert.ok(await to.get(meta.tag("app", "v1")), "only sessions expire");
});

Deno.test("metadata copy: large records go in several commits within the limits", async () => {
  const from = new MemoryMetadataStore();
  const big = "x".repeat(60_000);
  for (let i = 0; i < 40; i += 10) {
    await from.commit(
      [],
      Array.from({ length: 10 }, (_, j) => set(["big", String(i + j).padStart(3, "0")], big)),
    );
  }
  for (let i = 0; i < 2_500; i += 500) {
    await from.commit(
      [],
      Array.from({ length: 500 }, (_, j) => set(["small", String(i + j).padStart(5, "0")], j)),
    );
  }
  let commits = 0;
  const to = new MemoryMetadataStore();
  const report = await copyMetadata(from, to, {
    sessionTtlMs: 1_000,
    progress: () => commits++,
  });
  assert.equal(report.copied, 2_540);
  assert.equal(report.verified.same, 2_540);
  // 40 values of 60 KB need at least 3 commits of 800 KB; 2,500 small ones at least 3 more.
  assert.ok(commits >= 6, `${commits} commits`);
});

Deno.test("metadata copy: a target that holds records is refused, nothing written", async () => {
  const from = await registryLike();
  const to = new MemoryMetadataStore();
  await to.commit([], [set(meta.repo("other"), { created: 1 })]);
  await assert.rejects(
    () => copyMetadata(from, to, { sessionTtlMs: 1_000 }),
    (err: unknown) =>
      err instanceof CopyRefusedError && /already holds records .*"repo","other"/.test(err.message),
  );
  assert.deepEqual(await keys(to), ["repo/other"]);
});

Deno.test("metadata copy: a registry still running on either store is refused", async () => {
  const from = await registryLike();
  await from.commit([], [set(meta.instance("live"), { boot: "x", until: Date.now() + 60_000 })]);
  const to = new MemoryMetadataStore();
  await assert.rejects(
    () => copyMetadata(from, to, { sessionTtlMs: 1_000 }),
    (err: unknown) =>
      err instanceof CopyRefusedError &&
      /Instance "live" is running on the source/.test(err.message),
  );
  assert.deepEqual(await keys(to), []);
  const idle = await registryLike();
  await to.commit([], [set(meta.instance("b"), { boot: "y", until: Date.now() + 60_000 })]);
  await assert.rejects(() => copyMetadata(idle, to, { sessionTtlMs: 1_000 }), /on the target/);
});

Deno.test("metadata comparison: every difference is found and counted", async () => {
  const a = await registryLike();
  const b = new MemoryMetadataStore();
  await copyMetadata(a, b, { sessionTtlMs: 60_000 });
  await a.commit([], [set(["only", "a"], 1), set(meta.tag("app", "v1"), { digest: "x" })]);
  await b.commit([], [set(["zz", "only-b"], 1), { type: "delete", key: meta.repo("app") }]);
  // Heartbeats and leases are not compared.
  await b.commit([], [set(meta.instance("new"), { boot: "z", until: 0 })]);
  const result = await compareStores(a, b);
  assert.equal(result.same, 4);
  assert.equal(result.different, 4);
  assert.deepEqual(result.examples.map((e) => [e.key.join("/"), e.problem]), [
    ["only/a", "only in the source"],
    ["repo/app", "only in the source"],
    ["tag/app/v1", "values differ"],
    ["zz/only-b", "only in the target"],
  ]);
});
