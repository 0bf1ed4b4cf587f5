/**
 * @module
 * What one mirror has done since start-up, for the metrics endpoint and for tests: pulls
 * answered from the cache, pulls that went upstream, stale answers, and the requests and
 * bytes sent to the upstream.
 */

/** Counters of one mirror. */
export class MirrorCounters {
  /** Manifests and blobs served from the cache without fetching them. */
  hits = 0;
  /** Manifests and blobs fetched from the upstream (or joined while being fetched). */
  misses = 0;
  /** Answers served from the cache because the upstream failed. */
  stale = 0;
  /** HTTP requests sent to the upstream (token requests included). */
  upstreamRequests = 0;
  /** Body bytes received from the upstream. */
  upstreamBytes = 0;

  /** A plain copy, for reports. */
  snapshot(): MirrorCounterValues {
    return {
      hits: this.hits,
      misses: this.misses,
      stale: this.stale,
      upstreamRequests: this.upstreamRequests,
      upstreamBytes: this.upstreamBytes,
    };
  }
}

/** The counters' values at one moment. */
export interface MirrorCounterValues {
  hits: number;
  misses: number;
  stale: number;
  upstreamRequests: number;
  upstreamBytes: number;
}
