/**
 * @module
 * The outbox: the {@linkcode EventSink} that turns each registry event into
 * distribution's notification events and queues them for every endpoint whose filter
 * takes them.
 *
 * Changes (pushes, mounts, deletes) are queued by `record`, in the very commit that
 * makes the change: an acknowledged push always has its events, and a failed commit has
 * none. Pulls change nothing and have no commit to join: they are kept in memory and
 * written in one commit about every second (`flush`), so a crash loses at most the last
 * second of pull events. The buffer is bounded; when the store cannot take pulls for so
 * long that it fills, further pulls are dropped and counted.
 */
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import type { Logger } from "../log.ts";
import type { EventSink, RegistryEvent } from "../registry/events.ts";
import { type EventOrigin, toNotificationEvents } from "./event.ts";
import type { EndpointFilter } from "./filter.ts";
import { queueMutation, type Sequencer } from "./queue.ts";

/** An endpoint as the outbox sees it. */
export interface OutboxEndpoint {
  name: string;
  filter: EndpointFilter;
}

/** What the outbox needs. */
export interface OutboxOptions {
  endpoints: readonly OutboxEndpoint[];
  origin: EventOrigin;
  sequencer: Sequencer;
  /** The metadata store (read when used: capabilities may wrap the drivers). */
  store: () => MetadataStore;
  logger: Logger;
  /** Called when events were queued (wakes this process's deliveries). */
  queued: () => void;
  /** Pull events kept at most before further ones are dropped (default 10,000). */
  maxBuffered?: number;
}

/** Mutations per commit of buffered pulls (well below Deno KV's 1,000 and 800 KB). */
const FLUSH_MUTATIONS = 300;

/** Queues events for the endpoints: in the change's commit, or buffered (pulls). */
export class Outbox implements EventSink {
  readonly #o: OutboxOptions;
  readonly #takesPulls: boolean;
  #pulls: RegistryEvent[] = [];
  #dropped = 0;
  #flushing: Promise<void> | null = null;

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.#takesPulls = options.endpoints.some((e) => e.filter.takes("pull"));
  }

  /** Pull events dropped because the buffer was full, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Pull events waiting for the next flush. */
  get buffered(): number {
    return this.#pulls.length;
  }

  record(events: readonly RegistryEvent[]): Mutation[] {
    return events.flatMap((event) => this.#mutations(event));
  }

  notify(events: readonly RegistryEvent[]): void {
    let changed = false;
    for (const event of events) {
      if (event.type !== "blob.pulled" && event.type !== "manifest.pulled") {
        changed = true;
      } else if (this.#takesPulls) {
        if (this.#pulls.length < (this.#o.maxBuffered ?? 10_000)) this.#pulls.push(event);
        else this.#dropped++;
      }
    }
    if (changed) this.#o.queued();
  }

  /** Writes the buffered pull events; concurrent calls share one flush. */
  flush(): Promise<void> {
    if (!this.#flushing) {
      this.#flushing = this.#flush().finally(() => this.#flushing = null);
    }
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#pulls.length) {
      let taken = 0;
      const mutations: Mutation[] = [];
      while (taken < this.#pulls.length && mutations.length < FLUSH_MUTATIONS) {
        mutations.push(...this.#mutations(this.#pulls[taken++]));
      }
      try {
        if (mutations.length) await this.#o.store().commit([], mutations);
      } catch (err) {
        // Kept for the next flush (pulls that arrive meanwhile queue up behind them).
        this.#o.logger.warn("notifications: pull events not written yet", {
          buffered: this.#pulls.length,
          error: err,
        });
        throw err;
      }
      this.#pulls.splice(0, taken);
      if (mutations.length) this.#o.queued();
    }
  }

  /**
   * The queue entries of one event: one per endpoint that takes each of its notification
   * events. A manifest pushed with several tags is one entry holding the tags (the pushes
   * differ only in their tag and id).
   */
  #mutations(event: RegistryEvent): Mutation[] {
    const manifest = event.type === "manifest.pushed" || event.type === "manifest.pulled";
    const notifications = toNotificationEvents(event, this.#o.origin);
    const grouped = event.type === "manifest.pushed" && event.tags.length > 1;
    const entries = grouped ? [notifications[0]] : notifications;
    const out: Mutation[] = [];
    for (const notification of entries) {
      let seq: string | undefined;
      for (const endpoint of this.#o.endpoints) {
        if (!endpoint.filter.accepts(notification)) continue;
        seq ??= this.#o.sequencer.next();
        out.push(queueMutation(endpoint.name, seq, {
          at: event.at,
          event: notification,
          ...(manifest ? { manifest: true as const } : {}),
          ...(grouped ? { tags: event.tags } : {}),
        }));
      }
    }
    return out;
  }
}
