/**
 * @module
 * {@linkcode MetadataStore} on PostgreSQL, for fleets on their own hardware: the database's
 * replication, backups and failover are the ones its operators already run.
 *
 * The semantics are the interface's, exactly: keys are stored in a form whose byte order
 * is the key order (`postgres_codec.ts`), so listings are index range scans; each commit
 * is one call of `berth_commit` (`postgres_schema.ts`), which locks the keys it touches,
 * checks and applies everything or nothing, and gives every record it writes one new
 * version; the limits are `limits.ts`'s, checked before anything is sent. Expired
 * records are invisible at once and deleted by {@linkcode PostgresMetadataStore.sweepExpired}
 * (a fleet-wide job). Expiry runs on the database's clock, which every instance shares.
 *
 * A database that cannot be reached, is shutting down, recovering, read-only (a replica
 * before its promotion) or out of connections throws `DriverUnavailableError` (503 with
 * `Retry-After`); the pool reconnects by itself once the database answers again. A commit
 * whose connection broke may or may not have been applied, like any lost reply: either
 * all of it or none of it is. A full disk throws `DriverFullError`.
 *
 * The client is porsager's `postgres` (npm), loaded only when this module is: the driver
 * factory imports it on demand, so registries on Deno KV never load it.
 */
import postgres from "postgres";
import { DriverFullError, DriverUnavailableError } from "../errors.ts";
import { checkCommitLimits, checkGetMany, checkKey, checkListLimit } from "./limits.ts";
import {
  compareBytes,
  decodeKey,
  encodeKey,
  encodeValue,
  lockOf,
  prefixRange,
  toHex,
} from "./postgres_codec.ts";
import { EXCLUSIVE_ABOVE, migrate } from "./postgres_schema.ts";
import type { Check, ListOptions, MetadataStore, MetaKey, Mutation, Versioned } from "./types.ts";

/** How to reach the database. */
export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database[?param=value]` (several hosts allowed). */
  url: string;
  /** Used when the URL has none (else `PGPASSWORD`). */
  password?: string;
  /** Connections kept open at most; default 10. */
  pool?: number;
  /** How long a connection attempt may take before the request fails; default 5 s. */
  connectTimeoutMs?: number;
}

/** Rows a listing fetches per query. */
const LIST_BATCH = 256;
/** Rows the sweep deletes per statement. */
const SWEEP_BATCH = 1_000;
/** Versions are the commit sequence, zero-padded as Deno KV's versionstamps are. */
const VERSION_DIGITS = 20;

/** SQLSTATEs that mean "not now" rather than "wrong": the request may be retried later. */
const UNAVAILABLE_STATES = new Set([
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "53300", // too_many_connections
  "25006", // read_only_sql_transaction (a replica, before or instead of promotion)
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available
]);
/** Socket and client errors of a connection that broke or was never made. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : "";
}

/** True when `err` says the connection broke: a read may try once more on a new one. */
function isBrokenConnection(err: unknown): boolean {
  const code = codeOf(err);
  return CONNECTION_CODES.has(code) && code !== "ECONNREFUSED" && code !== "CONNECT_TIMEOUT";
}

/** The driver error `err` stands for, or `err` itself. */
function translate(err: unknown, what: string): unknown {
  const code = codeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith("08")) {
    return new DriverUnavailableError(`PostgreSQL is unavailable during ${what}: ${message}`, {
      cause: err,
    });
  }
  if (code === "53100") {
    return new DriverFullError(`PostgreSQL has no space left during ${what}: ${message}`, {
      cause: err,
    });
  }
  return err;
}

/** A PostgreSQL array literal of `items` (quoted, with `"` and `\` escaped). */
function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((s) => `"${s.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`;
}

const byteaArray = (keys: readonly Uint8Array[]) => arrayLiteral(keys.map((k) => `\\x${toHex(k)}`));

/** The sequence number a version string stands for; 0 for none, -1 for a foreign one. */
function versionNumber(version: string | null): string {
  if (version === null) return "0";
  if (!/^\d{1,20}$/.test(version)) return "-1";
  const n = BigInt(version);
  return n > 0n && n < 2n ** 63n ? n.toString() : "-1";
}

interface Row {
  key?: Uint8Array;
  value: string;
  version: string;
}

const LIVE = "(expires_at IS NULL OR expires_at > now())";
const GET = `SELECT value, version FROM berth_records WHERE key = $1 AND ${LIVE}`;
const GET_MANY = `SELECT key, value, version FROM berth_records
  WHERE key = ANY ($1::bytea[]) AND ${LIVE}`;
const LIST = `SELECT key, value, version FROM berth_records
  WHERE key > $1 AND key < $2 AND ${LIVE} ORDER BY key LIMIT $3`;
const COMMIT = `SELECT berth_commit($1::integer[], $2::boolean, $3::bytea[], $4::bigint[],
  $5::bytea[], $6::text[], $7::bigint[], $8::bytea[]) AS v`;

/** Metadata in PostgreSQL. */
export class PostgresMetadataStore implements MetadataStore {
  readonly name = "postgres";
  readonly #sql: postgres.Sql;

  private constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  /**
   * Connects, and brings the schema to the current version (see `postgres_schema.ts`).
   * Throws `DriverUnavailableError` when the database cannot be reached.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresMetadataStore> {
    const sql = postgres(options.url, {
      max: options.pool ?? 10,
      ...(options.password !== undefined ? { password: options.password } : {}),
      connect_timeout: Math.max(1, Math.ceil((options.connectTimeoutMs ?? 5_000) / 1000)),
      // Seconds before reconnecting after failures. The client's own backoff grows to 20 s,
      // which would hold every request (and the recovery) that long after an outage.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
      // Arrays travel as literals (see `arrayLiteral`), so no type lookup per connection.
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: "berth" },
    });
    try {
      await migrate(sql as unknown as Parameters<typeof migrate>[0]);
    } catch (err) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw translate(err, "start-up");
    }
    return new PostgresMetadataStore(sql);
  }

  async #query(what: string, text: string, params: unknown[], retry = false): Promise<Row[]> {
    try {
      return await this.#sql.unsafe<Row[]>(text, params as postgres.ParameterOrJSON<never>[], {
        prepare: true,
      });
    } catch (err) {
      // A pooled connection that died with its server (a restart, a failover) fails
      // once; a read runs again on a fresh one. A commit never does: it may have landed.
      if (retry && isBrokenConnection(err)) return await this.#query(what, text, params);
      throw translate(err, what);
    }
  }

  #versioned<T>(key: MetaKey, row: Row): Versioned<T> {
    return {
      key,
      value: JSON.parse(row.value) as T,
      version: row.version.padStart(VERSION_DIGITS, "0"),
    };
  }

  async get<T>(key: MetaKey): Promise<Versioned<T> | null> {
    checkKey(key);
    const [row] = await this.#query("a read", GET, [encodeKey(key)], true);
    return row ? this.#versioned<T>(key, row) : null;
  }

  async getMany<T>(keys: readonly MetaKey[]): Promise<(Versioned<T> | null)[]> {
    checkGetMany(keys);
    if (keys.length === 0) return [];
    const encoded = keys.map(encodeKey);
    const rows = await this.#query("a read", GET_MANY, [byteaArray(encoded)], true);
    const found = new Map(rows.map((r) => [toHex(r.key!), r]));
    return keys.map((key, i) => {
      const row = found.get(toHex(encoded[i]));
      return row ? this.#versioned<T>(key, row) : null;
    });
  }

  async *list<T>(prefix: MetaKey, options: ListOptions = {}): AsyncIterable<Versioned<T>> {
    if (prefix.length > 0) checkKey(prefix);
    if (options.after && options.after.length > 0) checkKey(options.after);
    checkListLimit(options.limit);
    const { above, below } = prefixRange(prefix);
    let from = above;
    if (options.after) {
      const after = encodeKey(options.after);
      if (compareBytes(after, from) > 0) from = after;
    }
    if (compareBytes(from, below) >= 0) return;
    const limit = options.limit ?? Infinity;
    let count = 0;
    while (count < limit) {
      const batch = Math.min(LIST_BATCH, limit - count);
      const rows = await this.#query("a listing", LIST, [from, below, batch], true);
      for (const row of rows) {
        yield this.#versioned<T>(decodeKey(row.key!), row);
        count++;
      }
      if (rows.length < batch) return;
      from = rows[rows.length - 1].key!;
    }
  }

  async commit(checks: readonly Check[], mutations: readonly Mutation[]): Promise<string | null> {
    checkCommitLimits(checks, mutations);
    // Mutations of one key apply in order, so the last one is its outcome.
    const last = new Map<string, { key: Uint8Array; m: Mutation }>();
    for (const m of mutations) {
      const key = encodeKey(m.key);
      const id = toHex(key);
      last.delete(id);
      last.set(id, { key, m });
    }
    const setKeys: Uint8Array[] = [], values: string[] = [], ttls: string[] = [];
    const deleteKeys: Uint8Array[] = [];
    for (const { key, m } of last.values()) {
      if (m.type === "delete") {
        deleteKeys.push(key);
        continue;
      }
      setKeys.push(key);
      values.push(encodeValue(m.value, m.key));
      ttls.push(m.expireInMs === undefined ? "-1" : String(m.expireInMs));
    }
    const checkKeys = checks.map((c) => encodeKey(c.key));
    const locks = [...new Set([...checkKeys, ...setKeys, ...deleteKeys].map(lockOf))]
      .sort((a, b) => a - b);
    const [row] = await this.#query("a commit", COMMIT, [
      `{${locks.join(",")}}`,
      locks.length > EXCLUSIVE_ABOVE,
      byteaArray(checkKeys),
      `{${checks.map((c) => versionNumber(c.version)).join(",")}}`,
      byteaArray(setKeys),
      arrayLiteral(values),
      `{${ttls.join(",")}}`,
      byteaArray(deleteKeys),
    ]);
    const v = (row as unknown as { v: string | null }).v;
    return v === null ? null : v.padStart(VERSION_DIGITS, "0");
  }

  /** Deletes expired rows in batches; returns how many. Reads never see them anyway. */
  async sweepExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const [row] = await this.#query("the expiry sweep", `SELECT berth_sweep($1) AS n`, [
        SWEEP_BATCH,
      ]);
      const n = Number((row as unknown as { n: number }).n);
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  async health(): Promise<void> {
    await this.#query("a health check", "SELECT 1", [], true);
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
