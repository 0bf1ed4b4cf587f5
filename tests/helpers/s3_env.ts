/**
 * @module
 * `REGISTRY_*` settings that point a Berth process at a test s3rver.
 */
import type { S3rver } from "./s3rver.ts";

/** Environment for Berth on `s3` under `root`, plus its metadata location. */
export function s3Env(
  s3: S3rver,
  root: string,
  metadata: Record<string, string>,
): Record<string, string> {
  return {
    REGISTRY_STORAGE: "s3",
    REGISTRY_STORAGE_S3_REGION: s3.options.region,
    REGISTRY_STORAGE_S3_BUCKET: s3.bucket,
    REGISTRY_STORAGE_S3_REGIONENDPOINT: s3.endpoint,
    REGISTRY_STORAGE_S3_FORCEPATHSTYLE: "true",
    REGISTRY_STORAGE_S3_ACCESSKEY: s3.options.accesskey,
    REGISTRY_STORAGE_S3_SECRETKEY: s3.options.secretkey,
    REGISTRY_STORAGE_S3_ROOTDIRECTORY: root,
    REGISTRY_STORAGE_S3_CHUNKSIZE: String(5 * 1024 * 1024),
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
    ...metadata,
  };
}
