/**
 * @module
 * Which processes of a fleet are alive. Every instance keeps a heartbeat record
 * (`["instance", id]`: its boot id and until when it counts as alive) that it renews
 * every third of {@linkcode HEARTBEAT_TTL_MS}. A lease held in the name of an instance
 * whose heartbeat is gone, stale, or from an earlier boot of the same instance id, is
 * dead: upload sessions and fleet-wide jobs take it over at once instead of waiting for
 * the lease to run out.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { meta } from "./keys.ts";

/** How long a heartbeat keeps an instance alive without renewal. */
export const HEARTBEAT_TTL_MS = 3_000;

/** Who holds something: an instance id and the boot (process start) of that instance. */
export interface Lifetime {
  instance: string;
  boot: string;
}

interface Heartbeat {
  boot: string;
  until: number;
}

/** This process's identity and the heartbeats of the others. */
export class Instances {
  /** This process: its configured (or generated) instance id and a fresh boot id. */
  readonly self: Lifetime;
  readonly #store: MetadataStore;

  constructor(store: MetadataStore, instance: string, boot: string = crypto.randomUUID()) {
    this.#store = store;
    this.self = { instance, boot };
  }

  /** Writes this process's heartbeat. */
  async beat(): Promise<void> {
    await this.#store.commit([], [{
      type: "set",
      key: meta.instance(this.self.instance),
      value: { boot: this.self.boot, until: Date.now() + HEARTBEAT_TTL_MS } satisfies Heartbeat,
      expireInMs: HEARTBEAT_TTL_MS * 10,
    }]);
  }

  /** Removes this process's heartbeat (at shutdown), so others need not wait it out. */
  async retire(): Promise<void> {
    const key = meta.instance(this.self.instance);
    const found = await this.#store.get<Heartbeat>(key);
    if (found?.value.boot !== this.self.boot) return;
    await this.#store.commit([{ key, version: found.version }], [{ type: "delete", key }]);
  }

  /**
   * True when `holder` may still be working: this very process, or an instance whose
   * current boot still beats. A holder that names no instance (a record written before
   * heartbeats existed) counts as alive until its own lease runs out.
   */
  async alive(holder: Partial<Lifetime>): Promise<boolean> {
    if (holder.instance === undefined || holder.boot === undefined) return true;
    if (holder.instance === this.self.instance) return holder.boot === this.self.boot;
    const beat = await this.#store.get<Heartbeat>(meta.instance(holder.instance));
    return beat !== null && beat.value.boot === holder.boot && beat.value.until > Date.now();
  }
}
