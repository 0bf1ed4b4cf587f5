/**
 * @module
 * Pull times for retention (`pulledwithin`, `mostrecentlypulledcount`), written without
 * a commit per pull: an event sink that hears of every manifest pull, keeps the latest
 * time per manifest and per tag in memory, and writes them in a few commits every
 * `flushMs` (or sooner when many are waiting). A time lost in a crash is at most that
 * old, which retention's windows of hours and days do not notice.
 */
import type { MetadataStore, MetaKey, Mutation } from "../../drivers/metadata/types.ts";
import type { Logger } from "../log.ts";
import type { EventSink, RegistryEvent } from "../registry/events.ts";
import { meta } from "../registry/keys.ts";

/** Pull times written per commit (two mutations' worth of room is left under the limit). */
const PER_COMMIT = 500;

/** Options of {@linkcode PullTimes}. */
export interface PullTimesOptions {
  /** The metadata store (read when writing: capabilities may wrap it). */
  store: () => MetadataStore;
  logger: Logger;
  /** How often waiting times are written; default 10 s. */
  flushMs?: number;
  /** Write as soon as this many are waiting; default 5,000. */
  maxPending?: number;
}

/** Coalesced pull times, as an event sink. */
export class PullTimes implements EventSink {
  readonly #o: Required<PullTimesOptions>;
  readonly #pending = new Map<string, { key: MetaKey; at: number }>();
  readonly #timer: number;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: PullTimesOptions) {
    this.#o = { flushMs: 10_000, maxPending: 5_000, ...options };
    this.#timer = setInterval(() => this.flush(), this.#o.flushMs) as unknown as number;
    Deno.unrefTimer(this.#timer);
  }

  notify(events: readonly RegistryEvent[]): void {
    for (const e of events) {
      if (e.type !== "manifest.pulled") continue;
      this.#note(meta.pulled(e.repository, e.digest), e.at);
      if (e.tag) this.#note(meta.pulledTag(e.repository, e.tag), e.at);
    }
    if (this.#pending.size >= this.#o.maxPending) this.flush();
  }

  /** Writes every waiting time; resolves when they (and earlier writes) are committed. */
  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#writing;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    this.#writing = this.#writing.then(async () => {
      const store = this.#o.store();
      for (let i = 0; i < batch.length; i += PER_COMMIT) {
        const mutations: Mutation[] = batch.slice(i, i + PER_COMMIT).map((p) => ({
          type: "set",
          key: p.key,
          value: { at: p.at },
        }));
        try {
          await store.commit([], mutations);
        } catch (err) {
          this.#o.logger.warn("pull times not recorded", { count: mutations.length, error: err });
        }
      }
    });
    return this.#writing;
  }

  /** Stops the timer and writes what is waiting. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  #note(key: MetaKey, at: number): void {
    const id = JSON.stringify(key);
    const seen = this.#pending.get(id);
    if (!seen || seen.at < at) this.#pending.set(id, { key, at });
  }
}
