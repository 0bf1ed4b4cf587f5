/**
 * @module
 * What one mirror has done since start-up, for the metrics endpoint and for tests: pulls
 * answered from the cache, pulls that went upstream, stale answers, and the requests and
 * bytes sent to the upstream. Attached to the metrics registry, the same events move
 * distribution's `registry_proxy_{requests,hits,misses}_total{type}` (summed over the
 * mirrors, as distribution has one) and Berth's per-mirror `berth_proxy_*` series.
 */
import type { Counter, MetricsRegistry } from "../metrics/registry.ts";

/** What a mirror serves: distribution's `type` label. */
export type ProxyKind = "blob" | "manifest";

/** The Prometheus series every mirror's counters move. */
export interface ProxyMetrics {
  requests: Counter;
  hits: Counter;
  misses: Counter;
  stale: Counter;
  upstreamRequests: Counter;
  upstreamBytes: Counter;
}

/** Registers the mirrors' series in `registry` (both types start at 0, as distribution's). */
export function proxyMetrics(registry: MetricsRegistry): ProxyMetrics {
  const typed = (name: string, help: string) => {
    const c = registry.counter({ name, help, labels: ["type"] });
    for (const kind of ["blob", "manifest"]) c.labels(kind).inc(0);
    return c;
  };
  const perMirror = (name: string, help: string) =>
    registry.counter({ name, help, labels: ["mirror"] });
  return {
    requests: typed(
      "registry_proxy_requests_total",
      "The number of total incoming proxy request received",
    ),
    hits: typed("registry_proxy_hits_total", "The number of total proxy request hits"),
    misses: typed("registry_proxy_misses_total", "The number of total proxy request misses"),
    stale: perMirror(
      "berth_proxy_stale_total",
      "Answers served from the cache because the upstream failed",
    ),
    upstreamRequests: perMirror(
      "berth_proxy_upstream_requests_total",
      "HTTP requests sent to the upstream, token requests included",
    ),
    upstreamBytes: perMirror(
      "berth_proxy_upstream_bytes_total",
      "Body bytes received from the upstream",
    ),
  };
}

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
  #metrics?: ProxyMetrics;
  #mirror = "";

  /** Also counts into `metrics`, labelled `mirror` (its prefix) where Berth's series are. */
  attach(metrics: ProxyMetrics, mirror: string): void {
    this.#metrics = metrics;
    this.#mirror = mirror;
    for (const c of [metrics.stale, metrics.upstreamRequests, metrics.upstreamBytes]) {
      c.labels(mirror).inc(0);
    }
  }

  /** A pull answered from the cache. */
  hit(kind: ProxyKind): void {
    this.hits++;
    this.#metrics?.requests.labels(kind).inc();
    this.#metrics?.hits.labels(kind).inc();
  }

  /** A pull that went (or joined a copy going) upstream. */
  miss(kind: ProxyKind): void {
    this.misses++;
    this.#metrics?.requests.labels(kind).inc();
    this.#metrics?.misses.labels(kind).inc();
  }

  /** An answer from the cache because the upstream failed. */
  staleAnswer(): void {
    this.stale++;
    this.#metrics?.stale.labels(this.#mirror).inc();
  }

  /** A request sent to the upstream. */
  upstreamRequest(): void {
    this.upstreamRequests++;
    this.#metrics?.upstreamRequests.labels(this.#mirror).inc();
  }

  /** Body bytes received from the upstream. */
  received(bytes: number): void {
    this.upstreamBytes += bytes;
    this.#metrics?.upstreamBytes.labels(this.#mirror).inc(bytes);
  }

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
