/**
 * @module
 * How a capability (a pull-through mirror, notifications, garbage collection, metrics, a
 * UI ...) plugs into the runtime without edits spread over the code: its folder exports
 * a {@linkcode CapabilityFactory}, `src/runtime.ts` lists the factories, and each one
 * returns what it adds. Everything is optional; a factory returns null when its
 * configuration section is absent.
 *
 * Order of assembly: every factory runs; driver wrappers apply; the registry is built
 * with every sink; registry wrappers apply in list order (the first listed is innermost);
 * routes go before the registry API, middleware inside the access log; debug routes go
 * on the debug server (`http.debug.addr`); jobs join the scheduler; `close` runs at
 * shutdown in reverse order.
 *
 * Every factory gets the runtime's {@linkcode MetricsRegistry} (`ctx.metrics`: register
 * counters there; they are served when `http.debug.prometheus` is enabled) and its
 * {@linkcode Lifecycle} (draining or not).
 */
import type { BlobDriver } from "../drivers/blob/types.ts";
import type { MetadataStore } from "../drivers/metadata/types.ts";
import type { Config } from "./config/mod.ts";
import type { Middleware } from "./http/middleware/chain.ts";
import type { Route } from "./http/route.ts";
import type { Job } from "./jobs/scheduler.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics/registry.ts";
import type { EventSink } from "./registry/events.ts";
import type { Instances } from "./registry/instances.ts";
import type { Registry } from "./registry/repository.ts";

/** The drivers a runtime opened. */
export interface Drivers {
  blobs: BlobDriver;
  metadata: MetadataStore;
}

/** What a capability factory gets. */
export interface CapabilityContext {
  config: Config;
  logger: Logger;
  /** This process among the instances sharing the metadata store. */
  instances: Instances;
  /**
   * The drivers. Capabilities that wrap them replace these members once every factory
   * has run, so read them when they are used (in a job, a request), not in the factory.
   */
  drivers: Drivers;
  /** The process's metrics (see `src/metrics/registry.ts`). */
  metrics: MetricsRegistry;
  /** Whether the process is draining. */
  lifecycle: Lifecycle;
}

/** A route of the debug server: an exact path and its handler. */
export interface DebugRoute {
  path: string;
  handler(request: Request): Promise<Response>;
}

/** What one capability adds to the runtime. */
export interface Capability {
  /** Name for logs. */
  readonly name: string;
  /** Wraps the drivers (timing, metrics). */
  drivers?(drivers: Drivers): Drivers;
  /** Consumers of the registry's events. */
  sinks?: readonly EventSink[];
  /** Wraps the registry facade (a mirror, a cache, access decorators). */
  wrap?(registry: Registry): Registry;
  /** Routes tried before the registry API. */
  routes?: readonly Route[];
  /** Steps of the middleware chain (inside the access log, outside the error boundary). */
  middleware?: readonly Middleware[];
  /** Routes of the debug server (`http.debug.addr`): metrics, health. */
  debugRoutes?: readonly DebugRoute[];
  /** Periodic jobs. */
  jobs?: readonly Job[];
  /** Releases what the capability holds. */
  close?(): Promise<void>;
}

/** Builds a capability from the configuration, or null when it is not configured. */
export type CapabilityFactory = (ctx: CapabilityContext) => Promise<Capability | null>;
