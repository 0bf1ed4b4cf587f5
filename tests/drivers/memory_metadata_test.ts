/**
 * @module
 * The in-process metadata store: the shared contract, plus what it promises beyond Deno
 * KV (exact expiry is in the suite; ordered versions and a stable listing are here).
 */
import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { metadataStoreSuite } from "./metadata_store_suite.ts";

metadataStoreSuite("memory", () => {
  const store = new MemoryMetadataStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});

Deno.test("memory store: versions increase in string order, one per commit", async () => {
  const store = new MemoryMetadataStore();
  const versions: string[] = [];
  for (let i = 0; i < 12; i++) {
    versions.push(
      (await store.commit([], [{ type: "set", key: ["k", String(i % 2)], value: i }]))!,
    );
  }
  assert.deepEqual([...versions].sort(), versions);
  assert.equal(new Set(versions).size, versions.length);
  assert.equal(await store.commit([{ key: ["k", "0"], version: null }], []), null);
  const next = await store.commit([], []);
  assert.ok(next! > versions[versions.length - 1]);
});

Deno.test("memory store: a listing is not disturbed by commits made while it runs", async () => {
  const store = new MemoryMetadataStore();
  const keys = Array.from({ length: 10 }, (_, i) => ["l", String(i)]);
  await store.commit([], keys.map((key) => ({ type: "set", key, value: 1 })));
  const seen: string[] = [];
  for await (const e of store.list(["l"])) {
    seen.push(e.key[1]);
    await store.commit([], [{ type: "set", key: ["l", `${e.key[1]}+`], value: 1 }]);
  }
  assert.deepEqual(seen, keys.map((k) => k[1]));
  const key = (await store.get(["l", "0"]))!.key as string[];
  assert.throws(() => key.push("x"), TypeError, "keys handed out are frozen");
});
