import assert from "node:assert/strict";
import { KvMetadataStore } from "../../drivers/metadata/kv.ts";
import { metadataStoreSuite } from "./metadata_store_suite.ts";

metadataStoreSuite("kv (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-kv-" });
  const store = await KvMetadataStore.open(`${dir}/nested/meta.kv`);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("kv: two processes' worth of handles on one file see each other", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-kv2-" });
  const a = await KvMetadataStore.open(`${dir}/meta.kv`);
  const b = await KvMetadataStore.open(`${dir}/meta.kv`);
  try {
    const v = await a.commit([], [{ type: "set", key: ["shared"], value: "from a" }]);
    const seen = await b.get<string>(["shared"]);
    assert.equal(seen?.value, "from a");
    assert.ok(
      await b.commit([{ key: ["shared"], version: v }], [{
        type: "set",
        key: ["shared"],
        value: "from b",
      }]),
    );
    assert.equal(
      await a.commit([{ key: ["shared"], version: v }], [{
        type: "set",
        key: ["shared"],
        value: "lost",
      }]),
      null,
    );
    assert.equal((await a.get(["shared"]))?.value, "from b");
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
