/**
 * @module
 * Builds a running registry from a configuration: opens the drivers, assembles the
 * registry layer, its periodic jobs and the application. `main.ts` serves it; tests and
 * offline commands build their own.
 */
import { openBlobDriver, openMetadataStore } from "../drivers/factory.ts";
import type { BlobDriver } from "../drivers/blob/types.ts";
import type { MetadataStore } from "../drivers/metadata/types.ts";
import { type App, type AppDeps, createApp } from "./app.ts";
import type { Capability, CapabilityFactory, DebugRoute, Drivers } from "./capability.ts";
import type { Config } from "./config/mod.ts";
import { gcCapability } from "./gc/mod.ts";
import { Leases } from "./jobs/lease.ts";
import { metadataSweep } from "./jobs/metadata_sweep.ts";
import { Scheduler } from "./jobs/scheduler.ts";
import { Lifecycle } from "./lifecycle.ts";
import { createLogger, type Logger } from "./log.ts";
import { healthCapability } from "./health/mod.ts";
import { metricsCapability } from "./metrics/mod.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { tracingCapability } from "./tracing/mod.ts";
import { notificationsCapability } from "./notifications/mod.ts";
import { UploadHashers } from "./registry/hashing.ts";
import { HEARTBEAT_TTL_MS, Instances } from "./registry/instances.ts";
import { meta } from "./registry/keys.ts";
import { purgeUploads } from "./registry/purge.ts";
import type { EventSink } from "./registry/events.ts";
import { createRegistry } from "./registry/registry.ts";
import { schema1Conversion } from "./schema1/capability.ts";
import { uiCapability } from "./ui/mod.ts";
import { UploadTokens } from "./upload_token.ts";
import { mirrorCapability } from "./mirror/mod.ts";

/** A registry ready to serve. */
export interface Runtime {
  app: App;
  deps: AppDeps;
  config: Config;
  /** The drivers, for the assembly's own jobs, offline commands and tests. */
  drivers: { blobs: BlobDriver; metadata: MetadataStore };
  /** This process among the instances sharing the metadata store. */
  instances: Instances;
  /** Running digests of uploads (their statistics show cold resumes). */
  hashers: UploadHashers;
  /** The periodic jobs (upload purging, heartbeats, ...). */
  scheduler: Scheduler;
  /** The process's metrics, served on the debug server when enabled. */
  metrics: MetricsRegistry;
  /** Serving or draining; `src/server/` drains it on SIGTERM. */
  lifecycle: Lifecycle;
  /** What the debug server (`http.debug.addr`) serves. */
  debugRoutes: DebugRoute[];
  /** The capabilities that were configured (their counters, for metrics and tests). */
  capabilities: readonly Capability[];
  /** Stops the jobs and closes the drivers. */
  close(): Promise<void>;
}

/** Options of {@linkcode createRuntime}. */
export interface RuntimeOptions {
  logger?: Logger;
  /** Drivers to use instead of the configured ones (tests share them between instances). */
  driver?: BlobDriver;
  store?: MetadataStore;
  /** Consumers of the registry's events (tests; capabilities bring their own). */
  sinks?: readonly EventSink[];
  /** Capabilities beyond the configured ones (tests). */
  capabilities?: readonly CapabilityFactory[];
}

/** How long a fleet-wide job's lease lasts without renewal. */
const JOB_LEASE_MS = 30_000;

/**
 * The capabilities a runtime may have, one line each (see `src/capability.ts`); each
 * factory returns null unless its section is configured.
 */
const CAPABILITIES: readonly CapabilityFactory[] = [
  tracingCapability,
  metricsCapability,
  healthCapability,
  metadataSweep,
  // The mirror is wrapped before schema 1 conversion, which converts what it serves.
  mirrorCapability,
  schema1Conversion,
  uiCapability,
  notificationsCapability,
  gcCapability,
];

/** Opens everything `config` describes; closes what it opened if a later step fails. */
export async function createRuntime(
  config: Config,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const instanceId = config.berth.instanceid ?? crypto.randomUUID().slice(0, 8);
  const logger = options.logger ??
    createLogger({ level: config.log.level, format: config.log.formatter, instanceId });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const driver = options.driver ?? await openBlobDriver(config.storage);
    if (!options.driver && driver.close) opened.push({ close: () => driver.close!() });
    const store = options.store ?? await openMetadataStore(config.berth.metadata);
    if (!options.store) opened.push(store);
    const secret = config.http.secret ?? await sharedSecret(store);
    const instances = new Instances(store, instanceId);
    await instances.beat();
    const drivers: Drivers = { blobs: driver, metadata: store };
    const metrics = new MetricsRegistry();
    const lifecycle = new Lifecycle();
    const capabilities: Capability[] = [];
    for (const factory of [...CAPABILITIES, ...(options.capabilities ?? [])]) {
      const capability = await factory({ config, logger, instances, drivers, metrics, lifecycle });
      if (capability) {
        capabilities.push(capability);
        opened.push({ close: () => capability.close?.() ?? Promise.resolve() });
      }
    }
    for (const c of capabilities) if (c.drivers) Object.assign(drivers, c.drivers({ ...drivers }));
    const hashers = new UploadHashers({ instanceId });
    let registry = createRegistry({
      driver: drivers.blobs,
      store: drivers.metadata,
      instances,
      hashers,
      portableHashing: config.berth.uploads.hashing === "portable",
      sessionTtlMs: config.berth.uploads.sessionttl,
      leaseMs: config.berth.uploads.lease,
      sinks: [...(options.sinks ?? []), ...capabilities.flatMap((c) => c.sinks ?? [])],
      schema1: config.compatibility?.schema1.enabled,
    });
    for (const c of capabilities) if (c.wrap) registry = c.wrap(registry);
    const baseUrl = config.http.host?.replace(/\/+$/, "");
    // Auth (jose, bcrypt) is loaded only when configured: an open registry stays lighter.
    const auth = config.auth
      ? await (await import("./auth/create.ts")).createAuth(config.auth, { store, logger, baseUrl })
      : { authorizer: undefined, routes: [] };
    const deps: AppDeps = {
      registry,
      tokens: new UploadTokens(secret),
      logger,
      authorizer: auth.authorizer,
      extraRoutes: [...auth.routes, ...capabilities.flatMap((c) => c.routes ?? [])],
      middleware: capabilities.flatMap((c) => c.middleware ?? []),
      options: {
        deleteEnabled: config.storage.delete.enabled,
        accessLog: !config.log.accesslog.disabled,
        redirect: !config.storage.redirect.disable,
        maxManifestBytes: config.berth.manifests.maxbytes,
        baseUrl,
        headers: config.http.headers,
        stallTimeoutMs: config.berth.uploads.stalltimeout,
      },
    };
    const scheduler = new Scheduler(new Leases(store, instances, JOB_LEASE_MS), logger);
    scheduler.add({
      name: "heartbeat",
      interval: HEARTBEAT_TTL_MS / 3,
      run: () => instances.beat(),
    });
    const purging = config.storage.maintenance.uploadpurging;
    if (purging.enabled && driver.uploads.list) {
      scheduler.add({
        name: "upload-purge",
        interval: purging.interval,
        // A random first delay of one to five minutes, so a fleet does not purge in step.
        firstDelay: 60_000 + Math.random() * 240_000,
        fleet: "one",
        run: async () => {
          await purgeUploads(drivers.blobs, drivers.metadata, {
            ageMs: purging.age,
            dryRun: purging.dryrun,
            logger,
          });
        },
      });
    }
    for (const job of capabilities.flatMap((c) => c.jobs ?? [])) scheduler.add(job);
    scheduler.start();
    return {
      app: createApp(deps),
      deps,
      config,
      drivers,
      instances,
      hashers,
      scheduler,
      metrics,
      lifecycle,
      debugRoutes: capabilities.flatMap((c) => c.debugRoutes ?? []),
      capabilities,
      close: async () => {
        await scheduler.stop();
        await instances.retire().catch(() => {});
        for (const r of opened.reverse()) await r.close().catch(() => {});
      },
    };
  } catch (err) {
    for (const r of opened.reverse()) await r.close().catch(() => {});
    throw err;
  }
}

/**
 * The upload-token secret when `http.secret` is not set: generated once and kept in the
 * metadata store, so restarts and every instance sharing the store agree on it.
 */
async function sharedSecret(store: MetadataStore): Promise<string> {
  const key = meta.uploadSecret();
  for (let i = 0; i < 5; i++) {
    const found = await store.get<string>(key);
    if (found) return found.value;
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    if (await store.commit([{ key, version: null }], [{ type: "set", key, value: secret }])) {
      return secret;
    }
  }
  throw new Error("Could not agree on an upload secret with the metadata store");
}
