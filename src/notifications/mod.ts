/**
 * @module
 * Webhook notifications that survive restarts: the capability `src/runtime.ts` lists.
 * With `notifications.endpoints` configured (and not all disabled) it adds
 *
 * - the outbox sink (`outbox.ts`): each change's events are queued per endpoint in the
 *   commit of the change; pulls are buffered and written about every second;
 * - one delivery job per endpoint (`delivery.ts`, fleet-wide under a lease), which
 *   sends the queue in order, several events per envelope, with retries and backoff;
 * - a job writing buffered pulls (every instance) and one logging the endpoints'
 *   statistics every minute while something is pending or changed (one instance).
 *
 * The returned capability also answers {@linkcode NotificationsCapability.stats}, the
 * fleet-wide statistics of every endpoint (also `readEndpointStats` in `stats.ts`, which
 * needs only the store), for metrics.
 */
import type { Capability, CapabilityContext, CapabilityFactory } from "../capability.ts";
import type { Config } from "../config/mod.ts";
import type { EndpointConfig } from "../config/notifications.ts";
import type { Job } from "../jobs/scheduler.ts";
import { goStatusText } from "../http/reasons.ts";
import type { Logger } from "../log.ts";
import { EndpointDelivery } from "./delivery.ts";
import { EndpointFilter } from "./filter.ts";
import { Outbox } from "./outbox.ts";
import { Sequencer } from "./queue.ts";
import { ReferenceReader } from "./references.ts";
import { type EndpointStats, readEndpointStats } from "./stats.ts";

/** The notifications capability, with what it offers beyond {@linkcode Capability}. */
export interface NotificationsCapability extends Capability {
  /** Statistics of every enabled endpoint, fleet-wide, read from the metadata store. */
  stats(): Promise<EndpointStats[]>;
  /** Writes buffered pull events now. */
  flush(): Promise<void>;
  /** Pull events dropped because the store could not take them in time, since start. */
  readonly droppedPulls: number;
}

/** The factory `src/runtime.ts` lists; null without an enabled endpoint. */
export const notificationsCapability: CapabilityFactory = (ctx) =>
  Promise.resolve(createNotifications(ctx));

/** Builds the capability (see the module doc). */
export function createNotifications(ctx: CapabilityContext): NotificationsCapability | null {
  const { config, logger, instances, drivers } = ctx;
  const section = config.notifications;
  const endpoints = section?.endpoints.filter((e) => !e.disabled) ?? [];
  if (!section || endpoints.length === 0) return null;
  const store = () => drivers.metadata;
  const references = section.includeReferences
    ? new ReferenceReader(store, () => drivers.blobs)
    : undefined;
  const observe = deliveryMetrics(ctx, endpoints);
  const deliveries = endpoints.map((endpoint) =>
    new EndpointDelivery({ endpoint, store, logger, references, observe })
  );
  const outbox = new Outbox({
    endpoints: endpoints.map((e) => ({ name: e.name, filter: new EndpointFilter(e) })),
    origin: {
      baseUrl: config.http.host,
      source: { addr: sourceAddr(config), instanceID: instances.self.boot },
    },
    sequencer: new Sequencer(instances.self.boot),
    store,
    logger,
    queued: () => deliveries.forEach((d) => d.wake()),
  });
  for (const e of endpoints) logger.info("notifications: endpoint configured", describe(e));
  const stats = () => readEndpointStats(store(), endpoints);
  const jobs: Job[] = [
    ...deliveries.map((d) => d.job()),
    { name: "notify-pulls", interval: 1_000, run: pullWriter(outbox, logger) },
    { name: "notify-stats", interval: 60_000, fleet: "one", run: statsLogger(stats, logger) },
  ];
  return {
    name: "notifications",
    sinks: [outbox],
    jobs,
    stats,
    flush: () => outbox.flush(),
    get droppedPulls() {
      return outbox.dropped;
    },
    // Pulls still buffered are written while the store is open (it closes after this).
    close: () => outbox.flush().catch(() => {}),
  };
}

/**
 * distribution's notification metrics: `registry_notifications_events_total{type,endpoint}`
 * (`Successes`, `Failures`, `Errors`: events this instance sent, by outcome),
 * `registry_notifications_status_total{code,endpoint}` (deliveries by answer, "200 OK"
 * style) and `registry_notifications_pending{endpoint}` (the queue, fleet-wide, read from
 * the store at scrape time: aggregate it with `max`, not `sum`).
 */
function deliveryMetrics(
  ctx: CapabilityContext,
  endpoints: readonly EndpointConfig[],
): (endpoint: string, events: number, status: number, ok: boolean) => void {
  const prefix = "registry_notifications";
  const events = ctx.metrics.counter({
    name: `${prefix}_events_total`,
    help: "The number of total events",
    labels: ["type", "endpoint"],
  });
  const statuses = ctx.metrics.counter({
    name: `${prefix}_status_total`,
    help: "The number of status code",
    labels: ["code", "endpoint"],
  });
  ctx.metrics.gauge({
    name: `${prefix}_pending`,
    help: "The gauge of pending events in queue",
    labels: ["endpoint"],
    collect: async (gauge) => {
      for (const s of await readEndpointStats(ctx.drivers.metadata, endpoints)) {
        gauge.labels(s.name).set(s.pending);
      }
    },
  });
  return (endpoint, count, status, ok) => {
    if (status === 0) {
      events.labels("Errors", endpoint).inc(count);
      return;
    }
    statuses.labels(`${status} ${goStatusText(status)}`.trim(), endpoint).inc();
    events.labels(ok ? "Successes" : "Failures", endpoint).inc(count);
  };
}

/** `source.addr`: this host's name and the port Berth listens on, as distribution has it. */
function sourceAddr(config: Config): string {
  let host = config.http.hostname;
  try {
    host = Deno.hostname();
  } catch { /* no --allow-sys (or an edge runtime): the listen address */ }
  return `${host}:${config.http.port}`;
}

/** What the start-up log says of an endpoint (never its headers' values or its secret). */
function describe(e: EndpointConfig): Record<string, unknown> {
  return {
    endpoint: e.name,
    url: e.url.replace(/[?#].*$/, ""), // a query may hold a token
    timeout: e.timeout,
    threshold: e.threshold,
    backoff: e.backoff,
    format: e.format,
    signed: e.secret !== undefined,
    headers: Object.keys(e.headers),
    ...(e.repositories ? { repositories: e.repositories } : {}),
    ...(e.maxage !== undefined ? { maxage: e.maxage } : {}),
  };
}

/** A job body logging each endpoint's statistics while something is pending or changed. */
function statsLogger(
  stats: () => Promise<EndpointStats[]>,
  logger: Logger,
): () => Promise<void> {
  const last = new Map<string, string>();
  return async () => {
    for (const s of await stats()) {
      const key = `${s.deliveries}/${s.failures}/${s.pending}/${s.deadLetters}`;
      const changed = key !== (last.get(s.name) ?? "0/0/0/0");
      last.set(s.name, key);
      if (!changed && s.pending === 0 && s.deadLetters === 0) continue;
      logger.info("notifications: endpoint statistics", {
        endpoint: s.name,
        pending: s.pending,
        oldestPendingMs: s.oldestPendingMs,
        deliveries: s.deliveries,
        delivered: s.delivered,
        failures: s.failures,
        lastStatus: s.lastStatus,
        deadLetters: s.deadLetters,
      });
    }
  };
}

/** A job body writing buffered pulls, and saying when some had to be dropped. */
function pullWriter(outbox: Outbox, logger: Logger): () => Promise<void> {
  let reported = 0;
  return async () => {
    const dropped = outbox.dropped;
    if (dropped > reported) {
      logger.warn("notifications: pull events dropped", { dropped: dropped - reported });
      reported = dropped;
    }
    await outbox.flush();
  };
}
