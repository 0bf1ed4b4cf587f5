/**
 * @module
 * The PostgreSQL store: the shared contract on a real PostgreSQL (Debian's package, a
 * cluster in a temp dir), and what it adds: migrations that several instances run at
 * once, the expiry sweep, two stores on one database, and a database that goes away.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { DriverUnavailableError } from "../../drivers/errors.ts";
import { PostgresMetadataStore } from "../../drivers/metadata/postgres.ts";
import type { Mutation } from "../../drivers/metadata/types.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { metadataStoreSuite } from "./metadata_store_suite.ts";

const set = (key: string[], value: unknown, expireInMs?: number): Mutation => ({
  type: "set",
  key,
  value,
  ...(expireInMs === undefined ? {} : { expireInMs }),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

metadataStoreSuite("postgres", async () => {
  const pg = await startPostgres();
  const store = await PostgresMetadataStore.open({ url: await pg.database() });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await pg.remove();
    },
  };
});

Deno.test("postgres store: migrations, fleets, expiry, refusals", async (t) => {
  const pg = await startPostgres();
  /** Runs `fn` with a plain client on `url`, to look at what the store wrote. */
  const raw = async <T>(url: string, fn: (sql: postgres.Sql) => Promise<T>) => {
    const sql = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      return await fn(sql);
    } finally {
      await sql.end();
    }
  };
  try {
    await t.step("instances starting at once migrate the schema once", async () => {
      const url = await pg.database();
      const stores = await Promise.all(
        Array.from({ length: 6 }, () => PostgresMetadataStore.open({ url, pool: 2 })),
      );
      try {
        const rows = await raw(url, (sql) => sql`SELECT version FROM berth_migrations`);
        assert.deepEqual(rows.map((r) => r.version), [1]);
        assert.ok(await stores[0].commit([], [set(["a"], 1)]));
        assert.equal((await stores[5].get(["a"]))?.value, 1);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const again = await PostgresMetadataStore.open({ url });
      assert.equal((await again.get(["a"]))?.value, 1, "a restart keeps the records");
      await again.close();
    });

    await t.step("a database migrated by a newer Berth is refused", async () => {
      const url = await pg.database();
      await (await PostgresMetadataStore.open({ url })).close();
      await raw(url, (sql) => sql`INSERT INTO berth_migrations (version, name) VALUES (99, 'x')`);
      await assert.rejects(
        () => PostgresMetadataStore.open({ url }),
        /schema is at version 99, newer than this Berth knows \(1\)/,
      );
    });

    const url = await pg.database();
    const a = await PostgresMetadataStore.open({ url });
    const b = await PostgresMetadataStore.open({ url, pool: 3 });
    try {
      await t.step("two stores on one database: one wins a create-if-absent race", async () => {
        const attempts = Array.from(
          { length: 24 },
          (_, i) => (i % 2 ? a : b).commit([{ key: ["race"], version: null }], [set(["race"], i)]),
        );
        const won = (await Promise.all(attempts)).filter((v) => v !== null);
        assert.equal(won.length, 1);
        assert.equal((await a.get(["race"]))?.version, won[0]);
        assert.equal((await b.get(["race"]))?.version, won[0]);
      });

      await t.step("large commits and small ones interleave without a lost update", async () => {
        // Commits with more than 32 keys take one exclusive lock instead of one per key.
        await a.commit([], [set(["counter"], 0)]);
        let retries = 0;
        const increment = async (worker: number, round: number) => {
          const store = worker % 2 ? a : b;
          const extra = (worker + round) % 2
            ? Array.from({ length: 40 }, (_, i) => set(["bulk", String(worker), String(i)], i))
            : [];
          for (;;) {
            const cur = await store.get<number>(["counter"]);
            const ok = await store.commit([{ key: ["counter"], version: cur!.version }], [
              set(["counter"], cur!.value + 1),
              ...extra,
            ]);
            if (ok) return;
            retries++;
          }
        };
        await Promise.all(Array.from({ length: 12 }, async (_, worker) => {
          for (let round = 0; round < 4; round++) await increment(worker, round);
        }));
        assert.equal((await b.get(["counter"]))?.value, 48);
        assert.ok(retries > 0, "the increments never raced; the test proves nothing");
        assert.equal((await Array.fromAsync(a.list(["bulk"]))).length, 12 * 40);
      });

      await t.step("mutations of one key apply in order; duplicate checks all hold", async () => {
        const v = await a.commit([], [set(["dup"], 1), { type: "delete", key: ["dup"] }]);
        assert.ok(v);
        assert.equal(await a.get(["dup"]), null);
        const w = await a.commit([], [{ type: "delete", key: ["dup"] }, set(["dup"], 2)]);
        assert.equal((await a.get(["dup"]))?.version, w);
        const stale = [{ key: ["dup"], version: w }, { key: ["dup"], version: v }];
        assert.equal(await a.commit(stale, [set(["dup"], 3)]), null);
        assert.equal((await b.get(["dup"]))?.value, 2);
      });

      await t.step("versions of another store fail a check rather than throw", async () => {
        for (const version of ["0000000000000001a000", "99999999999999999999", "", "-1"]) {
          assert.equal(await a.commit([{ key: ["dup"], version }], [set(["dup"], 4)]), null);
        }
        assert.equal((await a.get(["dup"]))?.value, 2);
      });

      await t.step("values JSON would change are refused, applying nothing", async () => {
        for (const value of [new Date(), new Uint8Array(1), NaN, new Map(), [undefined]]) {
          await assert.rejects(
            () => a.commit([], [set(["fine"], 1), set(["odd"], value)]),
            TypeError,
          );
        }
        await assert.rejects(() => a.commit([], [set(["\ud800"], 1)]), TypeError);
        assert.equal(await a.get(["fine"]), null);
      });

      await t.step("expired rows are swept by sweepExpired, in batches", async () => {
        const expiring = (from: number) =>
          Array.from({ length: 700 }, (_, i) => set(["exp", String(from + i)], i, 1));
        await a.commit([], expiring(0));
        await a.commit([], expiring(700));
        await a.commit([], [set(["exp", "long"], 1, 60_000), set(["exp", "never"], 1)]);
        await sleep(20);
        const count = () =>
          raw(url, async (sql) =>
            Number(
              (await sql`SELECT count(*) AS n FROM berth_records WHERE key >= ${
                new TextEncoder().encode("exp\0")
              } AND key < ${new TextEncoder().encode("exp\x01")}`)[0].n,
            ));
        assert.equal(await count(), 1_402, "expired rows wait for the sweep");
        assert.deepEqual((await Array.fromAsync(a.list(["exp"]))).map((e) => e.key[1]), [
          "long",
          "never",
        ]);
        assert.equal(await b.sweepExpired(), 1_400);
        assert.equal(await count(), 2);
        assert.equal(await a.sweepExpired(), 0);
        assert.equal((await a.get(["exp", "long"]))?.value, 1);
      });
    } finally {
      await a.close();
      await b.close();
    }

    await t.step("registries in two schemas of one database keep apart", async () => {
      const url = await pg.database();
      await raw(url, (sql) => sql`CREATE SCHEMA one`.then(() => sql`CREATE SCHEMA two`));
      const one = await PostgresMetadataStore.open({ url: `${url}?search_path=one` });
      const two = await PostgresMetadataStore.open({ url: `${url}?search_path=two` });
      try {
        assert.ok(await one.commit([], [set(["k"], "one")]));
        assert.equal(await two.get(["k"]), null);
        assert.ok(await two.commit([{ key: ["k"], version: null }], [set(["k"], "two")]));
        assert.equal((await one.get(["k"]))?.value, "one");
        const schemas = await raw(
          url,
          (sql) =>
            sql`SELECT table_schema AS s FROM information_schema.tables
            WHERE table_name = 'berth_records' ORDER BY 1`,
        );
        assert.deepEqual(schemas.map((r) => r.s), ["one", "two"]);
      } finally {
        await one.close();
        await two.close();
      }
    });

    await t.step("the password may come apart from the URL", async () => {
      const bare = (await pg.database()).replace(/:[^:@/]+@/, "@");
      const store = await PostgresMetadataStore.open({ url: bare, password: pg.password });
      assert.ok(await store.commit([], [set(["k"], 1)]));
      await store.close();
      await assert.rejects(
        () => PostgresMetadataStore.open({ url: bare, password: "wrong" }),
        /password authentication failed/,
      );
    });
  } finally {
    await pg.remove();
  }
});

Deno.test("postgres store: a database that goes away is unavailable, then recovers", async () => {
  const pg = await startPostgres();
  const store = await PostgresMetadataStore.open({ url: await pg.database(), pool: 4 });
  try {
    const before = await store.commit([], [set(["kept"], "before")]);
    await pg.kill();
    const unavailable = (err: unknown) => {
      assert.ok(err instanceof DriverUnavailableError, String(err));
      assert.match(err.message, /^PostgreSQL is unavailable during /);
      return true;
    };
    await assert.rejects(() => store.get(["kept"]), unavailable);
    await assert.rejects(() => store.commit([], [set(["lost"], 1)]), unavailable);
    await assert.rejects(() => Array.fromAsync(store.list(["k"])), unavailable);
    await assert.rejects(() => store.health(), unavailable);
    await pg.start();
    // The pool reconnects on its own; the first request after the restart succeeds.
    assert.deepEqual(await store.get(["kept"]), {
      key: ["kept"],
      value: "before",
      version: before,
    });
    assert.ok(await store.commit([{ key: ["kept"], version: before }], [set(["kept"], "after")]));
    assert.equal(await store.get(["lost"]), null, "a commit refused while down applied nothing");
    await store.health();
  } finally {
    await store.close();
    await pg.remove();
  }
});

Deno.test("postgres store: an unreachable database fails the open as unavailable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    () => PostgresMetadataStore.open({ url: `postgres://berth@127.0.0.1:${port}/berth` }),
    DriverUnavailableError,
  );
});
