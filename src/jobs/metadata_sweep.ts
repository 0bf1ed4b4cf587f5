/**
 * @module
 * The expired-row sweep: a fleet-wide job for metadata stores that leave deleting
 * expired records to a periodic job (`MetadataStore.sweepExpired`: PostgreSQL). Reads
 * never see an expired record, so the sweep only reclaims space; once a minute on one
 * instance of the fleet is plenty. Stores that expire records by themselves (Deno KV,
 * memory) get no job.
 */
import type { CapabilityFactory } from "../capability.ts";
import type { Job } from "./scheduler.ts";

/** Name of the job (and of its lease). */
export const METADATA_SWEEP_JOB = "metadata-sweep";

/** How often expired rows are deleted. */
const SWEEP_INTERVAL_MS = 60_000;

/** The sweep, as a capability that only adds its job. */
export const metadataSweep: CapabilityFactory = ({ drivers, logger }) => {
  // The store as opened: wrappers added later need not pass the sweep on.
  const store = drivers.metadata;
  const sweep = store.sweepExpired?.bind(store);
  if (!sweep) return Promise.resolve(null);
  const job: Job = {
    name: METADATA_SWEEP_JOB,
    interval: SWEEP_INTERVAL_MS,
    // Spread over the first interval, so instances started together do not sweep in step.
    firstDelay: SWEEP_INTERVAL_MS * (0.5 + Math.random() / 2),
    fleet: "one",
    run: async () => {
      const swept = await sweep();
      if (swept > 0) logger.debug("expired metadata swept", { store: store.name, count: swept });
    },
  };
  return Promise.resolve({ name: METADATA_SWEEP_JOB, jobs: [job] });
};
