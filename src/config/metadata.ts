/**
 * @module
 * `berth.metadata`: where the small records live. Deno KV (`kv`, the default: a file
 * under the data directory, or a KV Connect `url`), PostgreSQL (`postgres`: a
 * `postgres://` `url`, an optional `password` when the URL has none, and the `pool`
 * size), or `memory` for throwaway registries.
 *
 * The PostgreSQL URL and password may come from the environment like every setting
 * (`REGISTRY_BERTH_METADATA_URL`, `REGISTRY_BERTH_METADATA_PASSWORD`); with neither a
 * password in the URL nor one configured, the client uses `PGPASSWORD`.
 */
import type { Reader } from "./reader.ts";
import { words } from "./section.ts";

/** The validated `berth.metadata` mapping. */
export interface MetadataConfig {
  /** Default `kv`. */
  driver: "kv" | "memory" | "postgres";
  /** `kv`: the KV file; default `${datadir}/metadata.kv`. */
  path?: string;
  /** `kv`: a KV Connect URL instead of `path`. `postgres`: the database URL (required). */
  url?: string;
  /** `postgres`: the password, when the URL has none. */
  password?: string;
  /** `postgres`: connections each instance keeps at most; default 10. */
  pool?: number;
}

/** Keys of the `berth.metadata` mapping. */
export const METADATA_KEYS = { keys: words("driver path url password pool") };

/** Reads `berth.metadata`; `datadir` gives the default KV file. */
export function readMetadata(r: Reader, datadir: string): MetadataConfig {
  const driver = r.oneOf("berth.metadata.driver", ["kv", "memory", "postgres"]) ?? "kv";
  const path = r.text("berth.metadata.path");
  const url = r.text("berth.metadata.url");
  const password = r.text("berth.metadata.password");
  const pool = r.int("berth.metadata.pool", 1, 1_000);
  if (driver !== "postgres" && (password !== undefined || pool !== undefined)) {
    const key = password !== undefined ? "password" : "pool";
    r.fail(`berth.metadata.${key}`, `is a setting of the postgres driver, not of "${driver}"`);
  }
  if (driver === "postgres") {
    if (path !== undefined) {
      r.fail("berth.metadata.path", `is a setting of the kv driver; postgres takes a url`);
    }
    if (url === undefined) r.fail("berth.metadata.url", "is required for the postgres driver");
    if (!/^postgres(ql)?:\/\/[^/?#]*/.test(url)) {
      r.fail("berth.metadata.url", `must be a postgres:// URL, got "${redact(url)}"`);
    }
    return {
      driver,
      url,
      ...(password !== undefined ? { password } : {}),
      pool: pool ?? 10,
    };
  }
  if (driver === "memory" && (path !== undefined || url !== undefined)) {
    r.fail("berth.metadata", `driver "memory" takes neither path nor url`);
  }
  if (path !== undefined && url !== undefined) {
    r.fail("berth.metadata", `takes path or url, not both (path "${path}", url "${url}")`);
  }
  if (url !== undefined && !/^https?:\/\/[^/?#]+/.test(url)) {
    r.fail("berth.metadata.url", `must be an http(s) KV Connect URL, got "${redact(url)}"`);
  }
  if (driver === "memory") return { driver };
  return url !== undefined ? { driver, url } : { driver, path: path ?? `${datadir}/metadata.kv` };
}

/** `url` with any password replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, "$1:***@");
}
