/**
 * @module
 * Typed events: every change the registry makes (a blob pushed, mounted or deleted; a
 * manifest pushed or deleted; a tag moved or deleted) and every pull yields one, carrying
 * who asked ({@linkcode RequestContext}).
 *
 * Events join the commit. An {@linkcode EventSink} may add its own mutations to the very
 * commit that makes a change (an outbox: what is acknowledged has its event), and is told
 * once the commit is done. Pulls change nothing, so sinks only hear of them after the
 * fact. With no sink configured nothing is built or written.
 */
import type { Mutation } from "../../drivers/metadata/types.ts";

/** Who asks: the request a change or a pull comes from. */
export interface RequestContext {
  /** The signed-in user, or null for anonymous callers and the registry's own jobs. */
  actor: string | null;
  /** The request's `X-Request-Id`. */
  requestId: string;
  /** The client's address. */
  addr: string;
  userAgent: string;
  /** HTTP method and the host the client addressed (for event envelopes). */
  method: string;
  host: string;
}

/** The context of changes the registry makes on its own (garbage collection, expiry). */
export function systemContext(requestId: string = crypto.randomUUID()): RequestContext {
  return { actor: null, requestId, addr: "", userAgent: "berth", method: "", host: "" };
}

/** What every event carries. */
interface EventBase {
  /** Unique and stable: a sink that delivers an event twice delivers the same id. */
  id: string;
  /** Milliseconds since the epoch. */
  at: number;
  repository: string;
  context: RequestContext;
}

/** A change or a pull, by type. */
export type RegistryEvent =
  & EventBase
  & (
    | { type: "blob.pushed"; digest: string; size: number }
    | { type: "blob.mounted"; digest: string; size: number; from: string }
    | { type: "blob.deleted"; digest: string }
    | { type: "blob.pulled"; digest: string; size: number }
    | {
      type: "manifest.pushed";
      digest: string;
      size: number;
      mediaType: string;
      /** Digests the manifest references (config, layers, children). */
      references: string[];
      /** The tags the push set, if any. */
      tags: string[];
    }
    | { type: "manifest.deleted"; digest: string }
    | {
      type: "manifest.pulled";
      digest: string;
      size: number;
      mediaType: string;
      /** The tag the manifest was asked for by, if it was. */
      tag?: string;
    }
    | {
      type: "tag.moved";
      tag: string;
      digest: string;
      /** The manifest the tag pointed at before, if any. */
      previous?: string;
    }
    | { type: "tag.deleted"; tag: string; digest: string }
  );

/** Event types. */
export type EventType = RegistryEvent["type"];

/** An event without the fields {@linkcode Events} fills in. */
export type EventInput = RegistryEvent extends infer E
  ? E extends RegistryEvent ? Omit<E, "id" | "at" | "repository" | "context"> : never
  : never;

/** A consumer of events (notifications, metrics, pull-time tracking). */
export interface EventSink {
  /**
   * Mutations to commit atomically with the change the events describe. Called once per
   * commit attempt (a retried commit calls it again with the same events and ids), so it
   * must be pure. Pull events never reach it.
   */
  record?(events: readonly RegistryEvent[]): Mutation[];
  /** Told after the change committed, and of every pull. Must not throw or block. */
  notify?(events: readonly RegistryEvent[]): void;
}

/** Events of one repository for one caller, fanned out to the configured sinks. */
export class Events {
  readonly #sinks: readonly EventSink[];
  readonly #repository: string;
  readonly #context: RequestContext;

  constructor(sinks: readonly EventSink[], repository: string, context: RequestContext) {
    this.#sinks = sinks;
    this.#repository = repository;
    this.#context = context;
  }

  /** True when some sink listens (callers skip building events otherwise). */
  get active(): boolean {
    return this.#sinks.length > 0;
  }

  /** Complete events from their inputs (new ids, the time now). */
  make(inputs: readonly EventInput[]): RegistryEvent[] {
    if (!this.active) return [];
    const at = Date.now();
    return inputs.map((input) =>
      ({
        ...input,
        id: crypto.randomUUID(),
        at,
        repository: this.#repository,
        context: this.#context,
      }) as RegistryEvent
    );
  }

  /** The sinks' mutations for a commit of `events`. */
  mutations(events: readonly RegistryEvent[]): Mutation[] {
    if (events.length === 0) return [];
    return this.#sinks.flatMap((sink) => sink.record?.(events) ?? []);
  }

  /** Tells the sinks that `events` happened (after their commit, or a pull). */
  notify(events: readonly RegistryEvent[]): void {
    if (events.length === 0) return;
    for (const sink of this.#sinks) {
      try {
        sink.notify?.(events);
      } catch {
        // A sink's failure must not fail a request that already happened.
      }
    }
  }

  /** Makes and reports events of something that changed nothing (a pull). */
  pulled(input: EventInput): void {
    if (this.active) this.notify(this.make([input]));
  }
}
