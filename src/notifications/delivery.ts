/**
 * @module
 * Delivery to one endpoint, as a fleet-wide job (`notify:<endpoint>`, `fleet: "one"`):
 * one instance at a time holds the endpoint's lease and sends its queue in order, several
 * events per envelope, removing what the endpoint accepted in one commit with the
 * endpoint's counters. What was sent but not yet removed when an instance dies is sent
 * again by the next holder, with the same ids: delivery is at least once.
 *
 * A run holds the lease for a while ({@linkcode DeliveryOptions.holdMs}), sending what is
 * queued and then waiting for more: woken by events this process queues (which gather for
 * {@linkcode DeliveryOptions.gatherMs} into one envelope), and looking at the queue every
 * {@linkcode DeliveryOptions.pollMs} for events other instances queue. A failed attempt is retried after {@linkcode retryDelay}; the time of
 * the next attempt is stored with the counters, so a new lease holder keeps to it.
 * Events older than `maxage` go to the dead letters before each attempt.
 *
 * The queue head blocks: nothing recorded later is sent before it, so each repository's
 * events arrive in recorded order. Each endpoint has its own job, queue and lease: a
 * failing endpoint holds up no other, and its backlog is in the store, not in memory.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { EndpointConfig } from "../config/notifications.ts";
import type { Job } from "../jobs/scheduler.ts";
import type { Logger } from "../log.ts";
import { retryDelay } from "./backoff.ts";
import { encodeBody } from "./body.ts";
import type { NotificationEvent } from "./event.ts";
import { deadLetter, dequeue, type Entry, eventsOf, type QueuedEvent, queueHead } from "./queue.ts";
import type { ReferenceReader } from "./references.ts";
import { send } from "./send.ts";
import { countersMutation, type EndpointCounters, readCounters } from "./stats.ts";

/** What one endpoint's delivery needs. */
export interface DeliveryOptions {
  endpoint: EndpointConfig;
  /** The metadata store (read when used: capabilities may wrap the drivers). */
  store: () => MetadataStore;
  logger: Logger;
  /** Adds `target.references` to manifest events, when set. */
  references?: ReferenceReader;
  /** Most events per envelope (default 100). */
  batch?: number;
  /** Largest body, in bytes of JSON, unless one event alone is larger (default 1 MiB). */
  maxBodyBytes?: number;
  /** How often an idle run looks at the queue (default 500 ms). */
  pollMs?: number;
  /** How long one run holds the lease (default 15 s). */
  holdMs?: number;
  /**
   * How long to let events gather before sending what is not a full envelope (default
   * 250 ms): one envelope for a burst, not one request per event.
   */
  gatherMs?: number;
  /** Told of every delivery attempt, for metrics: events sent, the status (0: no answer). */
  observe?: (endpoint: string, events: number, status: number, ok: boolean) => void;
}

/**
 * How one attempt went: nothing to send, a full envelope sent (more may wait), a partial
 * one sent (the queue is empty or nearly), or a failure.
 */
type Outcome = "idle" | "sent" | "partial" | "failed";

/** Delivers one endpoint's queue. */
export class EndpointDelivery {
  readonly #o: DeliveryOptions;
  #wake: (() => void) | null = null;
  #woken = false;

  constructor(options: DeliveryOptions) {
    this.#o = options;
  }

  /** The endpoint's name. */
  get name(): string {
    return this.#o.endpoint.name;
  }

  /** Ends a wait for events at once (this process queued some). */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** The job that runs this delivery. */
  job(): Job {
    return {
      name: `notify:${this.name}`,
      interval: 1_000,
      firstDelay: 100 + Math.random() * 400,
      fleet: "one",
      run: (signal) => this.run(signal),
    };
  }

  /** One run: delivers until `holdMs` passed or `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const until = Date.now() + (this.#o.holdMs ?? 15_000);
    // Another instance may have delivered (or failed) since this one last held the lease.
    const counters = await readCounters(this.#o.store(), this.name);
    while (!signal.aborted && Date.now() < until) {
      const wait = (counters.retryAt ?? 0) - Date.now();
      if (wait > 0) {
        await pause(Math.min(wait, until - Date.now()), signal);
        continue;
      }
      this.#woken = false;
      const outcome = await this.attempt(counters, signal);
      if (outcome === "idle") {
        await this.#idle(Math.min(this.#o.pollMs ?? 500, until - Date.now()), signal);
        if (this.#woken) await pause(this.#o.gatherMs ?? 250, signal);
      } else if (outcome === "partial") {
        await pause(this.#o.gatherMs ?? 250, signal);
      }
    }
  }

  /** One attempt at the head of the queue; `counters` are updated and stored. */
  async attempt(counters: EndpointCounters, signal: AbortSignal): Promise<Outcome> {
    const { endpoint, logger } = this.#o;
    const store = this.#o.store();
    let entries = await queueHead(store, this.name, this.#o.batch ?? 100);
    if (entries.length === 0) return "idle";
    if (endpoint.maxage !== undefined) {
      const oldest = Date.now() - endpoint.maxage;
      const expired = entries.filter((e) => e.value.at < oldest);
      if (expired.length) {
        await deadLetter(store, this.name, expired, {
          reason: `undelivered for longer than maxage (${endpoint.maxage} ms)` +
            (counters.lastError ? `; last failure: ${counters.lastError}` : ""),
          lastStatus: counters.lastStatus,
        });
        logger.warn("notifications: events moved to the dead letters", {
          endpoint: this.name,
          events: expired.length,
          lastStatus: counters.lastStatus,
        });
        entries = entries.filter((e) => e.value.at >= oldest);
        if (entries.length === 0) return "sent";
      }
    }
    const batch = await this.#envelope(entries);
    const result = await send(endpoint, encodeBody(batch.events, endpoint.format), signal);
    if (signal.aborted && !result.ok) return "failed"; // stopped: not the endpoint's fault
    const now = Date.now();
    this.#o.observe?.(this.name, batch.events.length, result.status ?? 0, result.ok);
    counters.lastAttempt = now;
    counters.lastStatus = result.status;
    if (result.ok) {
      const recovered = counters.consecutive > 0;
      counters.deliveries++;
      counters.delivered += batch.events.length;
      counters.consecutive = 0;
      counters.lastSuccess = now;
      delete counters.lastError;
      delete counters.retryAt;
      await dequeue(
        store,
        this.name,
        batch.entries.map((e) => e.seq),
        [countersMutation(this.name, counters)],
      );
      if (recovered) logger.info("notifications: endpoint accepts events again", this.#log());
      return batch.entries.length < entries.length || entries.length >= (this.#o.batch ?? 100)
        ? "sent"
        : "partial";
    }
    counters.failures++;
    counters.consecutive++;
    counters.lastError = result.error;
    counters.retryAt = now + retryDelay(counters.consecutive, endpoint);
    await store.commit([], [countersMutation(this.name, counters)]);
    const fields = { ...this.#log(), error: result.error, consecutive: counters.consecutive };
    if (counters.consecutive === endpoint.threshold) {
      logger.warn("notifications: endpoint keeps failing, backing off", fields);
    } else logger.debug("notifications: delivery failed", fields);
    return "failed";
  }

  /** The events of one envelope from the head of the queue, within the size limit. */
  async #envelope(entries: Entry<QueuedEvent>[]) {
    const events: NotificationEvent[] = [];
    const taken: Entry<QueuedEvent>[] = [];
    const limit = this.#o.maxBodyBytes ?? 1024 * 1024;
    let bytes = 0;
    for (const entry of entries) {
      let these = eventsOf(entry.value);
      const { target } = entry.value.event;
      if (this.#o.references && entry.value.manifest && target.digest) {
        const references = await this.#o.references.of(target.digest, target.mediaType ?? "");
        if (references) {
          these = these.map((e) => ({ ...e, target: { ...e.target, references } }));
        }
      }
      const size = these.reduce((n, e) => n + JSON.stringify(e).length, 0);
      if (events.length && bytes + size > limit) break;
      events.push(...these);
      taken.push(entry);
      bytes += size;
    }
    return { events, entries: taken };
  }

  #log() {
    return { endpoint: this.name, url: this.#o.endpoint.url };
  }

  /** Waits up to `ms` for {@linkcode wake} (or `signal`). */
  async #idle(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#woken || ms <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      Deno.unrefTimer(timer);
      signal.addEventListener("abort", done);
      this.#wake = done;
    });
  }
}

/** Waits `ms` unless `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    Deno.unrefTimer(timer);
    signal.addEventListener("abort", done);
  });
}
