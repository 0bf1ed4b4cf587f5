/**
 * @module
 * The metrics capability (`http.debug.prometheus.enabled`): distribution's HTTP metrics
 * as a middleware step, storage-driver timings and metadata commit latency and conflicts
 * as driver wrappers, Berth's open upload sessions, and the text of them all on the debug
 * server at `http.debug.prometheus.path`. Nothing is served on the public port.
 *
 * The registry itself belongs to the runtime (`CapabilityContext.metrics`): every
 * capability registers its counters there whether or not they are served.
 */
import type { CapabilityFactory } from "../capability.ts";
import { meta } from "../registry/keys.ts";
import { httpMetrics } from "./http.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./registry.ts";
import { timedBlobDriver, timedMetadataStore } from "./storage.ts";

/** Sessions counted at most per scrape: the count is a listing of the metadata store. */
export const UPLOAD_SESSIONS_COUNTED = 10_000;

/** The metrics capability, or null when `http.debug.prometheus` is not enabled. */
export const metricsCapability: CapabilityFactory = (ctx) => {
  const prometheus = ctx.config.http.debug?.prometheus;
  if (!prometheus?.enabled) return Promise.resolve(null);
  const { metrics } = ctx;
  metrics.gauge({
    name: "berth_upload_sessions",
    help: `Upload sessions open in the metadata store, for the whole fleet sharing it ` +
      `(counted when scraped, at most ${UPLOAD_SESSIONS_COUNTED})`,
    async collect(gauge) {
      let n = 0;
      const prefix = meta.upload("").slice(0, 1);
      for await (const _ of ctx.drivers.metadata.list(prefix, { limit: UPLOAD_SESSIONS_COUNTED })) {
        n++;
      }
      gauge.set(n);
    },
  });
  return Promise.resolve({
    name: "metrics",
    drivers: (drivers) => ({
      blobs: timedBlobDriver(drivers.blobs, metrics),
      metadata: timedMetadataStore(drivers.metadata, metrics),
    }),
    middleware: [httpMetrics(metrics)],
    debugRoutes: [{
      path: prometheus.path,
      handler: async () =>
        new Response(await metrics.render(), {
          headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE },
        }),
    }],
  });
};
