/**
 * @module
 * The per-endpoint queues in the metadata store: events waiting for delivery
 * (`["notify-queue", <endpoint>, <seq>]`) and dead letters, events that outlived the
 * endpoint's `maxage` (`["notify-dead", <endpoint>, <seq>]`). A sequence number orders
 * both: the time it was taken (13 digits of milliseconds), a counter within that
 * millisecond and the process that took it, so key order is recorded order, and every
 * key is unique across a fleet.
 *
 * Nothing here holds a queue in memory: listings stream, and every move between the two
 * lists is one atomic commit of at most {@linkcode COMMIT_BATCH} events.
 */
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { meta } from "../registry/keys.ts";
import { type NotificationEvent, perTag } from "./event.ts";

/** An event waiting for one endpoint. */
export interface QueuedEvent {
  /**
   * When the event happened, or was put back from the dead letters (ms since the epoch;
   * `maxage` counts from here).
   */
  at: number;
  event: NotificationEvent;
  /** The target is a manifest (its references are added at delivery when asked for). */
  manifest?: true;
  /**
   * A manifest pushed with several tags: one push per tag, of which `event` is the first
   * (stored once, so a push with many tags stays small in its commit).
   */
  tags?: string[];
}

/** The notification events a queue entry stands for. */
export function eventsOf(queued: QueuedEvent): NotificationEvent[] {
  return queued.tags ? perTag(queued.event, queued.tags) : [queued.event];
}

/** An event moved out of the queue undelivered. */
export interface DeadLetter extends QueuedEvent {
  dead: {
    /** When it was moved. */
    at: number;
    reason: string;
    /** The HTTP status of the endpoint's last answer (0: no answer), if it was tried. */
    lastStatus: number | null;
  };
}

/** A queue or dead-letter entry with its sequence number. */
export interface Entry<T> {
  seq: string;
  value: T;
}

/** Events moved or removed per commit (each is a mutation or two). */
export const COMMIT_BATCH = 200;

/** Takes sequence numbers for one process: increasing, and unique across a fleet. */
export class Sequencer {
  readonly #tag: string;
  #ms = 0;
  #counter = 0;

  /** `tag` tells this process apart from others (its boot id). */
  constructor(tag: string) {
    this.#tag = tag.replace(/[^0-9a-zA-Z]/g, "").slice(0, 12) || "0";
  }

  /** The next sequence number (never smaller than the last, even if the clock steps back). */
  next(now: number = Date.now()): string {
    if (now > this.#ms) {
      this.#ms = now;
      this.#counter = 0;
    } else if (++this.#counter > 999_999) {
      this.#ms++;
      this.#counter = 0;
    }
    return `${String(this.#ms).padStart(13, "0")}-${
      String(this.#counter).padStart(6, "0")
    }-${this.#tag}`;
  }
}

/** The set mutation queueing `value` for `endpoint` under `seq`. */
export function queueMutation(endpoint: string, seq: string, value: QueuedEvent): Mutation {
  return { type: "set", key: meta.notifyQueued(endpoint, seq), value };
}

/** The first `limit` queued events of `endpoint`, in order. */
export async function queueHead(
  store: MetadataStore,
  endpoint: string,
  limit: number,
): Promise<Entry<QueuedEvent>[]> {
  const out: Entry<QueuedEvent>[] = [];
  for await (const e of store.list<QueuedEvent>(meta.notifyQueue(endpoint), { limit })) {
    out.push({ seq: e.key[2], value: e.value });
  }
  return out;
}

/** Removes delivered events from the queue, with `also` in the first commit. */
export async function dequeue(
  store: MetadataStore,
  endpoint: string,
  seqs: readonly string[],
  also: Mutation[] = [],
): Promise<void> {
  const deletes: Mutation[] = seqs.map((seq) => ({
    type: "delete",
    key: meta.notifyQueued(endpoint, seq),
  }));
  for (let i = 0; i === 0 || i < deletes.length; i += COMMIT_BATCH) {
    const mutations = deletes.slice(i, i + COMMIT_BATCH);
    if (i === 0) mutations.push(...also);
    if (mutations.length) await store.commit([], mutations);
  }
}

/** Moves queued events to the endpoint's dead letters. */
export async function deadLetter(
  store: MetadataStore,
  endpoint: string,
  entries: readonly Entry<QueuedEvent>[],
  why: Omit<DeadLetter["dead"], "at">,
): Promise<void> {
  const at = Date.now();
  for (let i = 0; i < entries.length; i += COMMIT_BATCH) {
    const mutations: Mutation[] = [];
    for (const { seq, value } of entries.slice(i, i + COMMIT_BATCH)) {
      const letter: DeadLetter = { ...value, dead: { at, ...why } };
      mutations.push({ type: "delete", key: meta.notifyQueued(endpoint, seq) });
      mutations.push({ type: "set", key: meta.notifyDead(endpoint, seq), value: letter });
    }
    await store.commit([], mutations);
  }
}

/** Dead letters of `endpoint` in order, at most `limit`. */
export async function listDeadLetters(
  store: MetadataStore,
  endpoint: string,
  limit = Infinity,
): Promise<Entry<DeadLetter>[]> {
  const out: Entry<DeadLetter>[] = [];
  const options = Number.isFinite(limit) ? { limit } : {};
  for await (const e of store.list<DeadLetter>(meta.notifyDeadAll(endpoint), options)) {
    out.push({ seq: e.key[2], value: e.value });
  }
  return out;
}

/**
 * Moves dead letters back into the queue under their own sequence numbers (so they go
 * out before anything recorded after them), or drops them (`discard`). `ids` picks
 * letters by event id; `"all"` takes every one. A letter put back has `maxage` again
 * from now. Returns how many were moved.
 */
export async function reviveDeadLetters(
  store: MetadataStore,
  endpoint: string,
  ids: ReadonlySet<string> | "all",
  discard = false,
): Promise<number> {
  let moved = 0;
  let batch: Mutation[] = [];
  const flush = async () => {
    if (batch.length) await store.commit([], batch);
    batch = [];
  };
  for await (const e of store.list<DeadLetter>(meta.notifyDeadAll(endpoint))) {
    if (ids !== "all" && !eventsOf(e.value).some((event) => ids.has(event.id))) continue;
    batch.push({ type: "delete", key: e.key });
    if (!discard) {
      const { dead: _, ...queued } = e.value;
      batch.push(queueMutation(endpoint, e.key[2], { ...queued, at: Date.now() }));
    }
    moved++;
    if (batch.length >= 2 * COMMIT_BATCH) await flush();
  }
  await flush();
  return moved;
}

/**
 * How many events the entries under `prefix` stand for, reading at most `cap` entries;
 * and the first entry.
 */
export async function countEvents<T extends QueuedEvent>(
  store: MetadataStore,
  prefix: readonly string[],
  cap: number,
): Promise<{ count: number; capped: boolean; first: T | null }> {
  let count = 0;
  let entries = 0;
  let first: T | null = null;
  for await (const e of store.list<T>(prefix, { limit: cap + 1 })) {
    if (entries === 0) first = e.value;
    if (++entries > cap) return { count, capped: true, first };
    count += e.value.tags?.length || 1;
  }
  return { count, capped: false, first };
}
