/**
 * @module
 * The Deno KV store: the shared contract on a real KV file, two handles on one file (as
 * two processes of a host have), and the limits module measured against Deno KV itself.
 */
import assert from "node:assert/strict";
import { KvMetadataStore } from "../../drivers/metadata/kv.ts";
import { checkCommitLimits, keyBytes, valueBytes } from "../../drivers/metadata/limits.ts";
import { METADATA_LIMITS, type Mutation } from "../../drivers/metadata/types.ts";
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

metadataStoreSuite("kv (:memory:)", async () => {
  const store = await KvMetadataStore.open();
  return { store, cleanup: () => store.close() };
});

Deno.test("kv: two handles on one file see each other's commits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-kv2-" });
  const a = await KvMetadataStore.open(`${dir}/meta.kv`);
  const b = await KvMetadataStore.open(`${dir}/meta.kv`);
  const set = (value: string): Mutation => ({ type: "set", key: ["shared"], value });
  try {
    const v = await a.commit([], [set("from a")]);
    assert.ok(v);
    assert.deepEqual(await b.get(["shared"]), { key: ["shared"], value: "from a", version: v });
    assert.ok(await b.commit([{ key: ["shared"], version: v }], [set("from b")]));
    assert.equal(await a.commit([{ key: ["shared"], version: v }], [set("lost")]), null);
    assert.equal((await a.get(["shared"]))?.value, "from b");
    assert.equal(await b.commit([{ key: ["shared"], version: null }], [set("lost")]), null);
    assert.deepEqual(
      (await Array.fromAsync(a.list(["nothing"]))).length,
      0,
    );
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv: the limits module measures as Deno KV does", async (t) => {
  const kv = await Deno.openKv(":memory:");
  /** True when Deno KV itself takes the commit; false when it throws a TypeError. */
  const kvTakes = async (mutations: Mutation[], checks: Deno.AtomicCheck[] = []) => {
    const op = kv.atomic();
    for (const c of checks) op.check(c);
    for (const m of mutations) {
      if (m.type === "set") op.set(m.key as string[], m.value);
      else op.delete(m.key as string[]);
    }
    try {
      await op.commit();
      return true;
    } catch (err) {
      assert.ok(err instanceof TypeError, String(err));
      return false;
    }
  };
  const weTake = (mutations: Mutation[], checks: Deno.AtomicCheck[] = []) => {
    try {
      checkCommitLimits(checks.map((c) => ({ key: c.key as string[], version: null })), mutations);
      return true;
    } catch {
      return false;
    }
  };
  try {
    await t.step("values on both sides of 64 KiB", async () => {
      // Where the V8 form is the longer one the measure is exact; where JSON is (small
      // integers, non-Latin text, objects) it is stricter than Deno KV, never looser.
      const values: [string, unknown, "exact" | "stricter"][] = [
        ["ASCII 65,530", "x".repeat(65_530), "exact"],
        ["ASCII 65,531", "x".repeat(65_531), "exact"],
        ["doubles", Array(7_280).fill(0.5), "exact"],
        ["more doubles", Array(7_290).fill(0.5), "exact"],
        ["small integers", Array.from({ length: 32_762 }, (_, i) => i % 50), "stricter"],
        ["non-Latin text", "日".repeat(30_000), "stricter"],
        [
          "objects",
          Object.fromEntries(Array.from({ length: 1_800 }, (_, i) => [`k${i}`, i])),
          "stricter",
        ],
      ];
      for (const [what, value, measure] of values) {
        const mutation: Mutation = { type: "set", key: ["v"], value };
        const [ours, theirs] = [weTake([mutation]), await kvTakes([mutation])];
        if (measure === "exact") assert.equal(ours, theirs, what);
        else assert.ok(!ours || theirs, `${what}: taken here, refused by Deno KV`);
      }
      assert.equal(valueBytes("x".repeat(65_530)), 65_536);
    });

    await t.step("keys on both sides of 2 KiB, NUL bytes included", async () => {
      for (
        const key of [
          ["x".repeat(2_046)],
          ["x".repeat(2_047)],
          ["x".repeat(1_022), "y".repeat(1_022)],
          ["x".repeat(1_023), "y".repeat(1_022)],
          ["x".repeat(2_042) + "\0\0"],
          ["x".repeat(2_043) + "\0\0"],
          ["é".repeat(1_023)],
          ["é".repeat(1_024)],
        ]
      ) {
        const mutation: Mutation = { type: "set", key, value: 1 };
        const fits = keyBytes(key) <= METADATA_LIMITS.keyBytes;
        assert.equal(fits, await kvTakes([mutation]), `${key[0].slice(-3)} ${keyBytes(key)}`);
        assert.equal(weTake([mutation]), fits);
      }
    });

    await t.step("commit totals: checks, keys counted twice, set keys", async () => {
      const big = (i: number, n: number, value = "x".repeat(n)): Mutation => ({
        type: "set",
        key: ["t", String(i).padStart(3, "0")],
        value,
      });
      const key2k = (i: number) => ["k" + String(i).padStart(4, "0") + "x".repeat(1_995)];
      const cases: [string, Mutation[], Deno.AtomicCheck[]][] = [
        ["13 values of 60,000", Array.from({ length: 13 }, (_, i) => big(i, 60_000)), []],
        ["14 values of 60,000", Array.from({ length: 14 }, (_, i) => big(i, 60_000)), []],
        [
          "12 values and 100 long checks",
          Array.from({ length: 12 }, (_, i) => big(i, 60_000)),
          Array.from({ length: 100 }, (_, i) => ({ key: key2k(i), versionstamp: null })),
        ],
        [
          "40 long keys with 15,000-byte values",
          Array.from(
            { length: 40 },
            (_, i) => ({ type: "set", key: key2k(i), value: "x".repeat(15_000) }),
          ),
          [],
        ],
        [
          "40 long keys with 17,500-byte values",
          Array.from(
            { length: 40 },
            (_, i) => ({ type: "set", key: key2k(i), value: "x".repeat(17_500) }),
          ),
          [],
        ],
        [
          "41 long keys set",
          Array.from({ length: 41 }, (_, i) => ({ type: "set", key: key2k(i), value: 1 })),
          [],
        ],
        [
          "60 long keys deleted",
          Array.from({ length: 60 }, (_, i) => ({ type: "delete", key: key2k(i) })),
          [],
        ],
      ];
      for (const [what, mutations, checks] of cases) {
        assert.equal(weTake(mutations, checks), await kvTakes(mutations, checks), what);
      }
    });
  } finally {
    kv.close();
  }
});
