/**
 * @module
 * The conformance suite every {@linkcode MetadataStore} runs: Deno KV's semantics and
 * limits, checked against the real store.
 */
import assert from "node:assert/strict";
import type { MetadataStore, MetaKey } from "../../drivers/metadata/types.ts";

const set = (key: MetaKey, value: unknown) => ({ type: "set" as const, key, value });

/** Registers the suite for one store; `make` returns the store and its cleanup. */
export function metadataStoreSuite(
  name: string,
  make: () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>,
): void {
  Deno.test(`metadata store contract: ${name}`, async (t) => {
    const { store, cleanup } = await make();
    try {
      await t.step("set, get and delete through commits", async () => {
        assert.equal(await store.get(["a"]), null);
        const v = await store.commit([], [set(["a"], { n: 1 })]);
        assert.ok(v);
        const got = await store.get<{ n: number }>(["a"]);
        assert.deepEqual(got?.value, { n: 1 });
        assert.equal(got?.version, v);
        assert.ok(await store.commit([], [{ type: "delete", key: ["a"] }]));
        assert.equal(await store.get(["a"]), null);
      });
      await t.step("values are copies", async () => {
        const value = { list: [1] };
        await store.commit([], [set(["copy"], value)]);
        value.list.push(2);
        const got = await store.get<{ list: number[] }>(["copy"]);
        assert.deepEqual(got?.value, { list: [1] });
        got!.value.list.push(3);
        assert.deepEqual((await store.get(["copy"]))?.value, { list: [1] });
      });
      await t.step(
        "checks: create-if-absent and stale versions fail and apply nothing",
        async () => {
          assert.ok(await store.commit([{ key: ["c"], version: null }], [set(["c"], 1)]));
          assert.equal(
            await store.commit([{ key: ["c"], version: null }], [set(["c"], 2), set(["other"], 1)]),
            null,
          );
          assert.equal(await store.get(["other"]), null);
          const first = await store.get(["c"]);
          await store.commit([], [set(["c"], 3)]);
          assert.equal(
            await store.commit([{ key: ["c"], version: first!.version }], [set(["c"], 4)]),
            null,
          );
          assert.equal((await store.get(["c"]))?.value, 3);
          const now = await store.get(["c"]);
          assert.notEqual(now!.version, first!.version, "versions change on every write");
          assert.ok(await store.commit([{ key: ["c"], version: now!.version }], [set(["c"], 5)]));
        },
      );
      await t.step("list orders keys part by part", async () => {
        const keys: MetaKey[] = [["l", "a", "c"], ["l", "b"], ["l", "a"], ["l", "a", "b"], [
          "l",
          "B",
        ], ["l", "a-"]];
        await store.commit([], keys.map((k) => set(k, k.join("/"))));
        await store.commit([], [set(["la"], 1), set(["m", "x"], 1)]);
        const listed = (await Array.fromAsync(store.list(["l"]))).map((e) => e.key.join("/"));
        assert.deepEqual(listed, ["l/B", "l/a", "l/a/b", "l/a/c", "l/a-", "l/b"]);
      });
      await t.step("list pages with after and limit", async () => {
        const names = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, "0")}`);
        await store.commit([], names.map((n) => set(["p", n], n)));
        const seen: string[] = [];
        let after: MetaKey | undefined;
        while (true) {
          const page = await Array.fromAsync(store.list<string>(["p"], { after, limit: 7 }));
          if (page.length === 0) break;
          assert.ok(page.length <= 7);
          seen.push(...page.map((e) => e.value));
          after = page[page.length - 1].key;
        }
        assert.deepEqual(seen, names);
      });
      await t.step("getMany keeps the order asked", async () => {
        await store.commit([], [set(["g", "1"], 1), set(["g", "3"], 3)]);
        const got = await store.getMany<number>([["g", "3"], ["g", "2"], ["g", "1"]]);
        assert.deepEqual(got.map((e) => e?.value ?? null), [3, null, 1]);
      });
      await t.step("limits throw and apply nothing", async () => {
        const big = "x".repeat(70_000);
        await assert.rejects(
          () => store.commit([], [set(["big"], big), set(["ok"], 1)]),
          TypeError,
        );
        assert.equal(await store.get(["ok"]), null);
        await assert.rejects(() => store.commit([], [set(["k", "x".repeat(2100)], 1)]), TypeError);
        const checks = Array.from(
          { length: 101 },
          (_, i) => ({ key: ["ck", String(i)], version: null }),
        );
        await assert.rejects(() => store.commit(checks, [set(["ok"], 1)]), TypeError);
        const muts = Array.from({ length: 1001 }, (_, i) => set(["mu", String(i)], i));
        await assert.rejects(() => store.commit([], muts), TypeError);
        assert.equal(await store.get(["mu", "0"]), null);
      });
      await t.step("concurrent read-check-commit increments all count", async () => {
        await store.commit([], [set(["counter"], 0)]);
        const inc = async () => {
          while (true) {
            const cur = await store.get<number>(["counter"]);
            const ok = await store.commit([{ key: ["counter"], version: cur!.version }], [
              set(["counter"], cur!.value + 1),
            ]);
            if (ok) return;
          }
        };
        await Promise.all(Array.from({ length: 20 }, inc));
        assert.equal((await store.get(["counter"]))?.value, 20);
      });
      await t.step("expired records disappear", async () => {
        await store.commit([], [{ type: "set", key: ["exp"], value: 1, expireInMs: 1 }]);
        await new Promise((r) => setTimeout(r, 30));
        // Deno KV only promises to delete expired keys eventually (sessions rely on that
        // for clean-up, never for correctness), so only the memory store is held to it.
        if (store.name !== "kv") assert.equal(await store.get(["exp"]), null);
      });
      await t.step("health", async () => {
        await store.health();
      });
    } finally {
      await cleanup();
    }
  });
}
