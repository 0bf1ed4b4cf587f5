/**
 * @module
 * The `storage:` section in distribution's shape: one blob driver (`filesystem`,
 * `inmemory` or `s3`; presence selects, none means `filesystem`), `delete`, `redirect`
 * and `maintenance`. distribution's other drivers and its read-only mode are refused, so
 * a registry never starts on storage it was not meant to use.
 */
import { dataDir } from "./berth.ts";
import type { Reader } from "./reader.ts";
import { type Env, type Section, words } from "./section.ts";

const MIB = 1024 * 1024;

/** distribution's `storage.s3` settings (AWS S3, R2, MinIO, Ceph ...). */
export interface S3Config {
  region: string;
  bucket: string;
  /** Endpoint of an S3-compatible service, `https://host` or a bare `host[:port]`. */
  regionendpoint?: string;
  /** Default false (virtual-hosted buckets). */
  forcepathstyle: boolean;
  /** Default: `AWS_ACCESS_KEY_ID`, with `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. */
  accesskey?: string;
  secretkey?: string;
  sessiontoken?: string;
  /** Key prefix without leading or trailing slashes; default "". */
  rootdirectory: string;
  /** Multipart part size in bytes; default 10 MiB, at least 5 MiB. */
  chunksize: number;
  /** https for an endpoint given without a scheme; default true. */
  secure: boolean;
}

/** The validated `storage:` section. Durations are in milliseconds. */
export interface StorageConfig {
  /** The one driver section present; none means `filesystem`. */
  driver: "filesystem" | "inmemory" | "s3";
  /** Default root: `${berth.datadir}/blobs`. */
  filesystem: { rootdirectory: string };
  /** Present only when `driver` is `s3`. */
  s3?: S3Config;
  /** Default true in Berth; distribution's default is false. */
  delete: { enabled: boolean };
  /** Default true: blobs are served by Berth, not redirected to the storage's URLs. */
  redirect: { disable: boolean };
  maintenance: {
    /** Defaults as distribution's: enabled, age 168h, interval 24h, no dry run. */
    uploadpurging: { enabled: boolean; age: number; interval: number; dryrun: boolean };
  };
}

const DRIVERS = ["filesystem", "inmemory", "s3"] as const;
/** Storage drivers of distribution that Berth does not have. */
const OTHER_DRIVERS = words("azure gcs swift oss");

/** The `storage:` section. */
export const storage: Section<"storage", StorageConfig> = {
  key: "storage",
  schema: {
    storage: {
      keys: words("filesystem inmemory s3 delete redirect maintenance"),
      ignore: words("cache tag"),
      refuse: Object.fromEntries(
        OTHER_DRIVERS.map((d) => [
          d,
          "is not supported: Berth stores blobs with filesystem, inmemory or s3",
        ]),
      ),
    },
    "storage.filesystem": { keys: words("rootdirectory"), ignore: words("maxthreads") },
    "storage.inmemory": { keys: [] },
    "storage.s3": {
      keys: words(
        "region bucket regionendpoint forcepathstyle accesskey secretkey sessiontoken " +
          "rootdirectory chunksize secure",
      ),
      ignore: words(
        "v4auth encrypt keyid skipverify storageclass objectacl useragent usedualstack " +
          "accelerate loglevel multipartcopychunksize multipartcopymaxconcurrency " +
          "multipartcopythresholdsize",
      ),
    },
    "storage.delete": { keys: words("enabled") },
    "storage.redirect": { keys: words("disable") },
    "storage.maintenance": { keys: words("uploadpurging readonly") },
    "storage.maintenance.uploadpurging": { keys: words("enabled age interval dryrun") },
    "storage.maintenance.readonly": { keys: words("enabled") },
  },
  // REGISTRY_STORAGE=azure selects a driver the schema then refuses, naming the variable.
  selects: [...DRIVERS, ...OTHER_DRIVERS],
  read: readStorage,
};

function readStorage(r: Reader, env: Env): StorageConfig {
  // Presence selects, even empty: distribution's files write `inmemory:` with no value.
  const drivers = DRIVERS.filter((k) => r.has(`storage.${k}`));
  if (drivers.length > 1) {
    r.fail(
      "storage",
      `must configure one driver, got ${drivers.join(" and ")} (REGISTRY_STORAGE picks one)`,
    );
  }
  if (r.bool("storage.maintenance.readonly.enabled")) {
    r.fail("storage.maintenance.readonly.enabled", "is not supported: Berth has no read-only mode");
  }
  const driver = drivers[0] ?? "filesystem";
  const purging = "storage.maintenance.uploadpurging";
  return {
    driver,
    filesystem: {
      rootdirectory: r.text("storage.filesystem.rootdirectory") ?? `${dataDir(r)}/blobs`,
    },
    ...(driver === "s3" ? { s3: readS3(r, env) } : {}),
    delete: { enabled: r.bool("storage.delete.enabled") ?? true },
    redirect: { disable: r.bool("storage.redirect.disable") ?? true },
    maintenance: {
      uploadpurging: {
        enabled: r.bool(`${purging}.enabled`) ?? true,
        age: r.duration(`${purging}.age`) ?? 168 * 3600_000,
        interval: r.duration(`${purging}.interval`) ?? 24 * 3600_000,
        dryrun: r.bool(`${purging}.dryrun`) ?? false,
      },
    },
  };
}

function readS3(r: Reader, env: Env): S3Config {
  const s3 = (key: string) => `storage.s3.${key}`;
  const region = r.text(s3("region")) ?? r.fail(s3("region"), "is required for the s3 driver");
  const bucket = r.text(s3("bucket")) ?? r.fail(s3("bucket"), "is required for the s3 driver");
  const endpoint = r.text(s3("regionendpoint"));
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
    } catch { /* reported below */ }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      r.fail(s3("regionendpoint"), `must be an http(s) URL or a host, got "${endpoint}"`);
    }
  }
  // Keys come as a set: from the configuration, or else all from the AWS_* variables.
  let accesskey = r.text(s3("accesskey"));
  let secretkey = r.text(s3("secretkey"));
  let sessiontoken = r.text(s3("sessiontoken"));
  if (accesskey === undefined && secretkey === undefined) {
    accesskey = env.AWS_ACCESS_KEY_ID || undefined;
    secretkey = env.AWS_SECRET_ACCESS_KEY || undefined;
    sessiontoken ??= env.AWS_SESSION_TOKEN || undefined;
  }
  if ((accesskey === undefined) !== (secretkey === undefined)) {
    const missing = accesskey === undefined ? "accesskey" : "secretkey";
    r.fail(s3(missing), `is required with ${missing === "accesskey" ? "secretkey" : "accesskey"}`);
  }
  return {
    region,
    bucket,
    regionendpoint: endpoint,
    forcepathstyle: r.bool(s3("forcepathstyle")) ?? false,
    accesskey,
    secretkey,
    sessiontoken,
    rootdirectory: (r.str(s3("rootdirectory")) ?? "").replace(/^\/+|\/+$/g, ""),
    chunksize: r.int(s3("chunksize"), 5 * MIB, 5 * 1024 * MIB) ?? 10 * MIB,
    secure: r.bool(s3("secure")) ?? true,
  };
}
