/**
 * @module
 * Upload purging (distribution's `storage.maintenance.uploadpurging`): unfinished uploads
 * whose bytes have not been written for `age` and that no live session holds are removed.
 * Sessions expire from the metadata store on their own (`berth.uploads.sessionttl`); this
 * reclaims the bytes they leave behind, and those of requests that died mid-body.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { Logger } from "../log.ts";
import { meta } from "./keys.ts";

/** What one purge did. */
export interface PurgeReport {
  /** Uploads older than the age with no session: removed (or, on a dry run, would be). */
  purged: string[];
  /** Uploads kept: recent, or still held by a session. */
  kept: number;
}

/** Removes abandoned uploads older than `ageMs`; with `dryRun` only reports them. */
export async function purgeUploads(
  driver: BlobDriver,
  store: MetadataStore,
  options: { ageMs: number; dryRun: boolean; logger: Logger },
): Promise<PurgeReport> {
  const report: PurgeReport = { purged: [], kept: 0 };
  if (!driver.uploads.list) return report;
  const cutoff = Date.now() - options.ageMs;
  for await (const upload of driver.uploads.list()) {
    if (upload.modified > cutoff || await store.get(meta.upload(upload.id))) {
      report.kept++;
      continue;
    }
    try {
      if (!options.dryRun) await driver.uploads.abort(upload.ref);
      report.purged.push(upload.id);
    } catch (err) {
      options.logger.warn("upload purge failed", { upload: upload.id, error: err });
    }
  }
  if (report.purged.length) {
    options.logger.info(options.dryRun ? "uploads to purge (dry run)" : "uploads purged", {
      count: report.purged.length,
    });
  }
  return report;
}
