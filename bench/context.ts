/**
 * @module
 * What every scenario receives: the run's sizes (full or `--quick`), its temp directory,
 * the registries under test, the shared test blob and the report to add rows to.
 */
import type { BlobFile } from "./data.ts";
import type { Report } from "./report.ts";
import type { Server } from "./servers.ts";

/** Bytes in a MiB. */
export const MiB = 1024 * 1024;

/** The sizes and counts of a run. */
export interface Sizes {
  /** Rounds per scenario (the median is reported). */
  repeats: number;
  /** The blob pushed and pulled by the transfer scenarios. */
  blob: number;
  /** The chunk of chunked pushes. */
  chunk: number;
  /** Range GETs per round, and the length of each. */
  rangeCount: number;
  rangeLength: number;
  /** skopeo image: this many layers of this many bytes (before gzip, which cannot shrink them). */
  layers: number;
  layerSize: number;
  /** Seconds of each request-rate measurement. */
  rateSeconds: number;
  /** The blob Berth's peak memory is measured moving. */
  rssBlob: number;
  /** The blob pushed through S3 for Berth's peak memory there. */
  s3RssBlob: number;
}

/** Full-size runs, or `--quick` ones that finish in about a minute. */
export function sizes(quick: boolean): Sizes {
  return quick
    ? {
      repeats: 1,
      blob: 32 * MiB,
      chunk: 16 * MiB,
      rangeCount: 50,
      rangeLength: MiB,
      layers: 25,
      layerSize: 256 * 1024,
      rateSeconds: 2,
      rssBlob: 256 * MiB,
      s3RssBlob: 256 * MiB,
    }
    : {
      repeats: 3,
      blob: 256 * MiB,
      chunk: 16 * MiB,
      rangeCount: 200,
      rangeLength: MiB,
      layers: 25,
      layerSize: 8 * MiB,
      rateSeconds: 5,
      rssBlob: 1024 * MiB,
      s3RssBlob: 2048 * MiB,
    };
}

/** A scenario's view of the run. */
export interface Context {
  quick: boolean;
  sizes: Sizes;
  /** The run's temp directory (removed at the end). */
  root: string;
  /** Berth first, then distribution when it started. */
  servers: Server[];
  /** The transfer blob (`sizes.blob` bytes) and its chunks, on disk. */
  blob: BlobFile;
  report: Report;
}
