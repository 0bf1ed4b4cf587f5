/**
 * @module
 * The `berth:` section, Berth's own settings (distribution has no such section): the data
 * directory, the metadata store, manifest and upload limits, the instance's name, and the
 * registries mirrored next to the hosted repositories (read in `proxy.ts`).
 */
import { METADATA_KEYS, type MetadataConfig, readMetadata } from "./metadata.ts";
import { type MirrorConfig, readMirrors } from "./proxy.ts";
import {
  GC_SCHEMA,
  type GcConfig,
  readGc,
  readRetention,
  readScrub,
  type RetentionConfig,
  type ScrubConfig,
} from "./gc.ts";
import type { Reader } from "./reader.ts";
import { type Section, words } from "./section.ts";
import { readUi, UI_KEYS, type UiConfig } from "./ui.ts";

const MIB = 1024 * 1024;

/** The validated `berth:` section. Durations are in milliseconds, sizes in bytes. */
export interface BerthConfig {
  /** Default `./data`. */
  datadir: string;
  /**
   * Default `kv` at `${datadir}/metadata.kv`; `url` (KV Connect) replaces `path`;
   * `memory` takes neither; `postgres` takes a `url`, `password` and `pool` (see
   * `metadata.ts`).
   */
  metadata: MetadataConfig;
  /** Largest manifest accepted; default 4 MiB. */
  manifests: { maxbytes: number };
  uploads: {
    /** Default `auto`. */
    hashing: "auto" | "portable";
    /** Idle upload sessions expire after this; default 24h. */
    sessionttl: number;
    /** A crashed writer's hold on an upload runs out after this; default 15s. */
    lease: number;
    /** A request body that sends nothing for this long is aborted; default 60s. */
    stalltimeout: number;
  };
  /** Names this process in logs; random when absent. */
  instanceid?: string;
  /** The web UI (`ui.ts`). */
  ui: UiConfig;
  /** Upstream registries mirrored under their prefixes (see `proxy.ts`); none by default. */
  mirrors: MirrorConfig[];
  http: {
    /**
     * Which server serves plain HTTP: Berth's own HTTP/1.1 listener (`berth`), Deno's
     * (`deno`), or `auto` (the default): Deno's where the runtime offers no sockets
     * (Deno Deploy), Berth's elsewhere. TLS is always served by Deno (see `src/server/`).
     */
    server: "auto" | "berth" | "deno";
  };
  /** Online garbage collection (see `gc.ts`); absent: none. */
  gc?: GcConfig;
  /** What garbage collection keeps; absent: every tag. */
  retention?: RetentionConfig;
  /** Periodic re-hashing of stored blobs; absent: none. */
  scrub?: ScrubConfig;
}

/** The `berth:` section. */
export const berth: Section<"berth", BerthConfig> = {
  key: "berth",
  schema: {
    berth: {
      keys: words(
        "datadir metadata manifests uploads instanceid ui mirrors gc retention scrub http",
      ),
    },
    "berth.metadata": METADATA_KEYS,
    "berth.manifests": { keys: words("maxbytes") },
    "berth.uploads": { keys: words("hashing sessionttl lease stalltimeout") },
    "berth.http": { keys: words("server") },
    "berth.ui": UI_KEYS,
    ...GC_SCHEMA,
  },
  read(r) {
    const datadir = dataDir(r);
    return {
      datadir,
      metadata: readMetadata(r, datadir),
      manifests: { maxbytes: r.int("berth.manifests.maxbytes", 1) ?? 4 * MIB },
      uploads: {
        hashing: r.oneOf("berth.uploads.hashing", ["auto", "portable"]) ?? "auto",
        sessionttl: r.duration("berth.uploads.sessionttl") ?? 24 * 3600_000,
        lease: r.duration("berth.uploads.lease") ?? 15_000,
        stalltimeout: r.duration("berth.uploads.stalltimeout") ?? 60_000,
      },
      http: { server: r.oneOf("berth.http.server", ["auto", "berth", "deno"]) ?? "auto" },
      instanceid: r.text("berth.instanceid"),
      ui: readUi(r),
      mirrors: readMirrors(r),
      ...optional("gc", readGc(r)),
      ...optional("retention", readRetention(r)),
      ...optional("scrub", readScrub(r)),
    };
  },
};

/** `{ [key]: value }`, or nothing when the value is absent. */
function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

/**
 * `berth.datadir` without a trailing slash; default `./data`. Other sections' defaults
 * (`storage.filesystem.rootdirectory`) live under it.
 */
export function dataDir(r: Reader): string {
  return (r.text("berth.datadir") ?? "./data").replace(/(.)\/+$/, "$1");
}
