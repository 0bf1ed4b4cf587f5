/**
 * @module
 * Garbage collection, retention and scrubbing as a capability (see `src/capability.ts`):
 *
 * - `berth.gc` schedules the collector (`collector.ts`) every `interval` on one instance
 *   of a fleet at a time (job `gc`, fleet-wide lease `gc`, shared with `deno task gc`);
 * - `berth.retention` is applied by every collection; when a policy looks at pull times,
 *   a sink records them, coalesced (`pulls.ts`);
 * - `berth.scrub` schedules re-hashing of stored blobs (`scrub.ts`, job and lease `scrub`);
 * - `GET /v2/_berth/usage` answers storage usage (`usage.ts`), configured or not.
 */
import type { Capability, CapabilityFactory } from "../capability.ts";
import type { Job } from "../jobs/scheduler.ts";
import { collect } from "./collector.ts";
import { PullTimes } from "./pulls.ts";
import { Retention } from "./retention.ts";
import { scrub } from "./scrub.ts";
import { usageRoute } from "./usage.ts";

/** Share of the time an online collection or scrub works; it rests the rest (`pace.ts`). */
const ONLINE_DUTY = 0.5;

/** A random first delay of one to five minutes (at most the interval), so a fleet staggers. */
function firstDelay(interval: number): number {
  return Math.min(interval, 60_000 + Math.random() * 240_000);
}

/** The garbage-collection capability. */
export const gcCapability: CapabilityFactory = (ctx) => {
  const { config, logger, drivers } = ctx;
  const { gc, retention, scrub: scrubbing } = config.berth;
  const pulls = retention && new Retention(retention, false).usesPulls
    ? new PullTimes({ store: () => drivers.metadata, logger })
    : null;
  const jobs: Job[] = [];
  if (gc) {
    jobs.push({
      name: "gc",
      interval: gc.interval,
      firstDelay: firstDelay(gc.interval),
      fleet: "one",
      run: async (signal) => {
        await pulls?.flush();
        await collect(drivers.blobs, drivers.metadata, {
          grace: gc.grace,
          deleteUntagged: gc.deleteuntagged,
          retention,
          signal,
          logger,
          duty: ONLINE_DUTY,
        });
      },
    });
  }
  if (scrubbing) {
    jobs.push({
      name: "scrub",
      interval: scrubbing.interval,
      firstDelay: firstDelay(scrubbing.interval),
      fleet: "one",
      run: async (signal) => {
        await scrub(drivers.blobs, drivers.metadata, { signal, logger, duty: ONLINE_DUTY });
      },
    });
  }
  const capability: Capability = {
    name: "gc",
    routes: [usageRoute(() => drivers.metadata)],
    sinks: pulls ? [pulls] : [],
    jobs,
    close: async () => await pulls?.close(),
  };
  return Promise.resolve(capability);
};
