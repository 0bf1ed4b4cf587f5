/**
 * @module
 * The pull-through cache as a capability: mirrors of other registries, configured by
 * distribution's `proxy:` (the whole registry mirrors one upstream) or Berth's
 * `berth.mirrors` (hosted repositories plus mirrors under prefixes). It adds
 *
 * - a registry wrapper (`registry.ts`): mirrored repositories pull through from their
 *   upstream into the registry below, which is the cache;
 * - the `?ns=` step (`namespace.ts`), present even without mirrors, so a namespace that
 *   names no mirror is refused rather than served from hosted repositories;
 * - the expiry job (`expiry.ts`), one instance of a fleet at a time;
 * - per-mirror counters ({@linkcode MirrorCapability.stats}) for metrics.
 *
 * See README.md, "Mirror other registries".
 */
import type { Capability, CapabilityFactory } from "../capability.ts";
import { Leases } from "../jobs/lease.ts";
import type { Registry } from "../registry/repository.ts";
import type { MirrorDeps } from "./context.ts";
import { type MirrorCounterValues, proxyMetrics } from "./counters.ts";
import { expire } from "./expiry.ts";
import { PullTimes } from "./expiry.ts";
import { Fills } from "./fills.ts";
import { MirrorSet } from "./mirrors.ts";
import { namespaces } from "./namespace.ts";
import { mirroredRegistry } from "./registry.ts";

/** How long the lease of a blob being copied lasts without renewal. */
const FILL_LEASE_MS = 15_000;

/** One mirror's counters, with what names it. */
export interface MirrorStats extends MirrorCounterValues {
  prefix: string;
  remoteurl: string;
}

/** The mirror capability, with its counters. */
export interface MirrorCapability extends Capability {
  /** Counters of every mirror since start-up. */
  stats(): MirrorStats[];
}

/** Builds the mirror capability (the `?ns=` step alone when no mirror is configured). */
export const mirrorCapability: CapabilityFactory = (ctx) => {
  const { config, logger, instances, drivers } = ctx;
  const configs = config.proxy ? [config.proxy] : config.berth.mirrors;
  const mirrors = new MirrorSet(configs, logger);
  if (configs.length > 0) {
    const metrics = proxyMetrics(ctx.metrics);
    for (const m of mirrors.mirrors) m.counters.attach(metrics, m.prefix || "(all)");
  }
  const ownHost = config.http.host ? new URL(config.http.host).host : undefined;
  const stats = () =>
    mirrors.mirrors.map((m) => ({
      prefix: m.prefix,
      remoteurl: m.config.remoteurl,
      ...m.counters.snapshot(),
    }));
  const capability: MirrorCapability = {
    name: "mirror",
    middleware: [namespaces(mirrors, logger, ownHost)],
    stats,
  };
  if (configs.length === 0) return Promise.resolve(capability);

  // Drivers may still be wrapped by other capabilities: take them when first used.
  let leases: Leases | undefined;
  const fills = new Fills(
    () => leases ??= new Leases(drivers.metadata, instances, FILL_LEASE_MS),
    logger,
  );
  const pulls = new PullTimes(() => drivers.metadata, logger);
  const deps: MirrorDeps = {
    mirrors,
    fills,
    pulls,
    logger,
    maxManifestBytes: config.berth.manifests.maxbytes,
    checked: new Map(),
    inflight: new Map(),
    known: new Map(),
  };
  let inner: Registry | null = null;
  capability.wrap = (registry) => {
    inner = registry;
    return mirroredRegistry(registry, deps);
  };
  const ttls = configs.map((c) => c.ttl).filter((ttl) => ttl > 0);
  if (ttls.length > 0) {
    capability.jobs = [{
      name: "mirror-expiry",
      // Often enough that content goes within a quarter of its ttl after it expired.
      interval: Math.min(Math.max(Math.min(...ttls) / 4, 1_000), 3_600_000),
      fleet: "one",
      run: async (signal) => {
        if (!inner) return;
        await expire({ store: drivers.metadata, registry: inner, mirrors, pulls, logger }, signal);
      },
    }];
  }
  capability.close = async () => {
    fills.close();
    await pulls.flush();
  };
  return Promise.resolve(capability);
};
