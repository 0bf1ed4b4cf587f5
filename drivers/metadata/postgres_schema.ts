/**
 * @module
 * The PostgreSQL store's schema as numbered migrations, applied at start-up.
 *
 * `berth_migrations` records each version applied. {@linkcode migrate} runs in one
 * transaction that first takes an advisory lock, so instances starting at once take
 * turns: the first applies what is missing, the others find it done. DDL is
 * transactional in PostgreSQL, so a migration that fails leaves nothing behind. A
 * database migrated by a newer Berth (a version this code does not know) is refused
 * rather than written to with old assumptions.
 *
 * The schema (version 1):
 *
 * - `berth_records (key bytea primary key, value text, version bigint, expires_at
 *   timestamptz)`: one row per record; keys in `postgres_codec.ts`'s order-keeping form,
 *   values as JSON text; `expires_at` null for records that do not expire. Expired rows
 *   are invisible to reads and checks, and `berth_sweep` deletes them in batches.
 * - `berth_versions`: the sequence every commit takes its version from.
 * - `berth_commit(...)`: one commit as one statement (so one round trip). It takes the
 *   advisory locks of every key it checks or writes (in ascending order, so commits
 *   never deadlock), then evaluates the checks against the latest committed rows, and
 *   applies the deletes and sets under one new version, or returns null and applies
 *   nothing. Every writer of `berth_records` goes through it, so a check cannot be
 *   overtaken between its read and the write. A commit touching many keys takes one
 *   exclusive lock instead (every other commit holds it shared), which keeps the lock
 *   table small.
 */

/** The advisory lock class of Berth's schema and commit locks (`pg_advisory_*(class, id)`). */
export const LOCK_CLASS = 0x42455254; // "BERT"
/** The class of per-key commit locks. */
export const KEY_LOCK_CLASS = 0x4245524b; // "BERK"
/** Within {@linkcode LOCK_CLASS}: migrations. */
export const MIGRATION_LOCK = 1;
/** Within {@linkcode LOCK_CLASS}: held shared by every commit, exclusive by a large one. */
export const COMMIT_LOCK = 2;
/** Commits with more distinct key locks than this take the exclusive commit lock. */
export const EXCLUSIVE_ABOVE = 32;

/** One schema step. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Append only: a released migration never changes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "records, versions, commit and sweep",
    sql: `
CREATE TABLE berth_records (
  key bytea PRIMARY KEY,
  value text NOT NULL,
  version bigint NOT NULL,
  expires_at timestamptz
);
CREATE INDEX berth_records_expiry ON berth_records (expires_at) WHERE expires_at IS NOT NULL;
CREATE SEQUENCE berth_versions AS bigint;

CREATE FUNCTION berth_commit(
  locks integer[], exclusive boolean,
  check_keys bytea[], check_versions bigint[],
  set_keys bytea[], set_values text[], set_ttls bigint[],
  delete_keys bytea[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id integer;
  failed boolean;
  v bigint;
BEGIN
  IF exclusive THEN
    PERFORM pg_advisory_xact_lock(${LOCK_CLASS}, ${COMMIT_LOCK});
  ELSE
    PERFORM pg_advisory_xact_lock_shared(${LOCK_CLASS}, ${COMMIT_LOCK});
    FOREACH id IN ARRAY locks LOOP
      PERFORM pg_advisory_xact_lock(${KEY_LOCK_CLASS}, id);
    END LOOP;
  END IF;
  -- A version of 0 means "absent" (the sequence starts at 1); expired rows are absent.
  SELECT EXISTS (
    SELECT 1 FROM unnest(check_keys, check_versions) AS c(key, version)
    LEFT JOIN berth_records r
      ON r.key = c.key AND (r.expires_at IS NULL OR r.expires_at > now())
    WHERE coalesce(r.version, 0) <> c.version
  ) INTO failed;
  IF failed THEN
    RETURN NULL;
  END IF;
  v := nextval('berth_versions');
  DELETE FROM berth_records WHERE key = ANY (delete_keys);
  INSERT INTO berth_records (key, value, version, expires_at)
    SELECT s.key, s.value, v,
      CASE WHEN s.ttl < 0 THEN NULL ELSE now() + s.ttl * interval '1 millisecond' END
    FROM unnest(set_keys, set_values, set_ttls) AS s(key, value, ttl)
  ON CONFLICT (key) DO UPDATE
    SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at;
  RETURN v;
END
$$;

CREATE FUNCTION berth_sweep(batch integer) RETURNS integer LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM berth_records
    WHERE key IN (
      SELECT key FROM berth_records WHERE expires_at <= now() LIMIT batch
    ) AND expires_at <= now()
    RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
`,
  },
];

/** What {@linkcode migrate} needs of a client: a transaction and a way to run SQL in it. */
export interface MigrationClient {
  begin<T>(fn: (tx: MigrationTx) => Promise<T>): Promise<T>;
}

/** A transaction of {@linkcode MigrationClient}. */
export interface MigrationTx {
  unsafe(query: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

/**
 * Brings the schema to the newest version, holding the migration lock for the whole
 * transaction. Returns the versions applied (none when another instance did it first).
 */
export async function migrate(
  client: MigrationClient,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return await client.begin(async (tx) => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, ${MIGRATION_LOCK})`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS berth_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const [row] = await tx.unsafe(`SELECT coalesce(max(version), 0) AS v FROM berth_migrations`);
    const current = Number(row.v);
    const newest = migrations.at(-1)?.version ?? 0;
    if (current > newest) {
      throw new Error(
        `The database's Berth schema is at version ${current}, newer than this Berth knows ` +
          `(${newest}); run a Berth at least as new as the one that migrated it`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await tx.unsafe(m.sql);
      await tx.unsafe(`INSERT INTO berth_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
