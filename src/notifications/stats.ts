/**
 * @module
 * Per-endpoint statistics, fleet-wide: counters the delivering instance keeps in the
 * metadata store (`["notify-stats", <endpoint>]`: deliveries, failures, the last status,
 * when to try next) and what the queues hold (pending events, the oldest one's age, dead
 * letters), counted from the store when asked. {@linkcode readEndpointStats} is what logs,
 * the `deno task notifications` command and metrics read.
 */
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { meta } from "../registry/keys.ts";
import { countEvents, type DeadLetter, type QueuedEvent } from "./queue.ts";

/** What the delivering instance counts for one endpoint. */
export interface EndpointCounters {
  /** Envelopes the endpoint accepted. */
  deliveries: number;
  /** Events in those envelopes. */
  delivered: number;
  /** Attempts that failed (an error status, no answer, a timeout). */
  failures: number;
  /** Failures since the last accepted envelope. */
  consecutive: number;
  /** HTTP status of the last attempt (0: no answer), null before the first. */
  lastStatus: number | null;
  /** Why the last attempt failed, when it did. */
  lastError?: string;
  /** When the last attempt was made and the last envelope accepted (ms since the epoch). */
  lastAttempt?: number;
  lastSuccess?: number;
  /** No attempt before this (backing off after failures). */
  retryAt?: number;
}

/** The statistics of one endpoint. */
export interface EndpointStats extends EndpointCounters {
  name: string;
  url: string;
  /** Events waiting (in at most {@linkcode COUNT_CAP} records; `pendingCapped` says so). */
  pending: number;
  pendingCapped: boolean;
  /** Age of the oldest waiting event in milliseconds; null when none waits. */
  oldestPendingMs: number | null;
  /** Events moved to the dead letters (counted up to the same cap). */
  deadLetters: number;
}

/** Queue records read at most when counting, so a huge backlog costs a bounded listing. */
export const COUNT_CAP = 10_000;

/** Counters of an endpoint that was never tried. */
export function emptyCounters(): EndpointCounters {
  return { deliveries: 0, delivered: 0, failures: 0, consecutive: 0, lastStatus: null };
}

/** The stored counters of `endpoint`. */
export async function readCounters(
  store: MetadataStore,
  endpoint: string,
): Promise<EndpointCounters> {
  const found = await store.get<EndpointCounters>(meta.notifyStats(endpoint));
  return found ? { ...emptyCounters(), ...found.value } : emptyCounters();
}

/** The mutation that stores `counters`. */
export function countersMutation(endpoint: string, counters: EndpointCounters): Mutation {
  return { type: "set", key: meta.notifyStats(endpoint), value: counters };
}

/** Statistics of each of `endpoints`, read from the store. */
export async function readEndpointStats(
  store: MetadataStore,
  endpoints: readonly { name: string; url: string }[],
  now: number = Date.now(),
): Promise<EndpointStats[]> {
  return await Promise.all(endpoints.map(async ({ name, url }) => {
    const [counters, queue, dead] = await Promise.all([
      readCounters(store, name),
      countEvents<QueuedEvent>(store, meta.notifyQueue(name), COUNT_CAP),
      countEvents<DeadLetter>(store, meta.notifyDeadAll(name), COUNT_CAP),
    ]);
    return {
      name,
      url,
      ...counters,
      pending: queue.count,
      pendingCapped: queue.capped,
      oldestPendingMs: queue.first ? Math.max(0, now - queue.first.at) : null,
      deadLetters: dead.count,
    };
  }));
}
