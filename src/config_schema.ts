/**
 * @module
 * Which keys each section of the configuration may hold: the ones Berth reads, and the
 * ones of distribution's format it accepts without implementing (reported, not errors).
 * A key in neither list is an error, so a typo cannot pass silently.
 */
import type { Reader } from "./config_reader.ts";

/** Top-level sections kept raw for their own modules. */
export const RAW = ["auth", "notifications", "proxy"];

const words = (list: string): string[] => list.split(" ");

/**
 * Known keys of each section Berth reads, and keys of distribution's format it accepts
 * without implementing them. Sections not listed (`auth`, `http.headers`, ...) are
 * free-form.
 */
const SECTIONS: Record<string, { keys: string[]; ignore?: string[] }> = {
  "": {
    // `version` (always 0.1) names the file format; it is no setting to report.
    keys: ["version", "log", "http", "storage", "berth", ...RAW],
    ignore: words("loglevel reporting redis health validation compatibility middleware catalog"),
  },
  log: { keys: words("level formatter accesslog"), ignore: words("fields hooks reportcaller") },
  "log.accesslog": { keys: words("disabled") },
  http: {
    keys: words("addr host secret headers tls"),
    ignore: words("net prefix relativeurls draintimeout debug http2 h2c"),
  },
  storage: {
    keys: words("filesystem inmemory s3 delete redirect maintenance"),
    ignore: words("cache tag"),
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
  berth: { keys: words("datadir metadata manifests uploads instanceid http") },
  "berth.http": { keys: words("server") },
  "berth.metadata": { keys: words("driver path url") },
  "berth.manifests": { keys: words("maxbytes") },
  "berth.uploads": { keys: words("hashing sessionttl lease") },
};

/** Storage drivers of distribution that Berth does not have. */
const OTHER_DRIVERS = ["azure", "gcs", "swift", "oss"];

/**
 * Throws on keys no one knows and on settings Berth refuses; returns the dotted paths of
 * the keys it ignores.
 */
export function checkKeys(r: Reader, path = ""): string[] {
  const section = SECTIONS[path];
  const ignored: string[] = [];
  for (const key of r.keys(path) ?? []) {
    const child = path ? `${path}.${key}` : key;
    if (section.ignore?.includes(key)) {
      ignored.push(child);
    } else if (path === "storage" && OTHER_DRIVERS.includes(key)) {
      r.fail(child, "is not supported: Berth stores blobs with filesystem, inmemory or s3");
    } else if (!section.keys.includes(key)) {
      r.fail(child, "is not a known setting");
    } else if (SECTIONS[child]) {
      ignored.push(...checkKeys(r, child));
    }
  }
  return ignored;
}

/** Top-level keys, for the environment overrides to address. */
export const TOP_LEVEL: readonly string[] = [...SECTIONS[""].keys, ...SECTIONS[""].ignore!];
