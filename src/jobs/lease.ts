/**
 * @module
 * Fleet-wide leases: "one instance at a time" for a named job, as a record in the
 * metadata store (`["lease", <job>]`: holder and until when). A holder renews its lease
 * while it works; a lease whose holder is gone (its heartbeat, see
 * `src/registry/instances.ts`) or that ran out may be taken over.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { Instances, Lifetime } from "../registry/instances.ts";
import { meta } from "../registry/keys.ts";

interface LeaseRecord extends Lifetime {
  until: number;
}

/** A lease this process holds. */
export interface HeldLease {
  readonly name: string;
  /** Extends the lease by its length again; false when it was lost meanwhile. */
  renew(): Promise<boolean>;
  /** Gives the lease back (idempotent). */
  release(): Promise<void>;
}

/** Takes named leases of `ttlMs` in the name of this process. */
export class Leases {
  constructor(
    private readonly store: MetadataStore,
    private readonly instances: Instances,
    private readonly ttlMs: number,
  ) {}

  /** The lease `name`, or null when a live holder has it. */
  async acquire(name: string): Promise<HeldLease | null> {
    const key = meta.lease(name);
    const found = await this.store.get<LeaseRecord>(key);
    if (found && found.value.until > Date.now() && await this.instances.alive(found.value)) {
      return null;
    }
    let version = await this.store.commit(
      [{ key, version: found?.version ?? null }],
      [this.#set(name)],
    );
    if (version === null) return null; // another instance got there first
    return {
      name,
      renew: async () => {
        if (version === null) return false;
        version = await this.store.commit([{ key, version }], [this.#set(name)])
          .catch(() => null);
        return version !== null;
      },
      release: async () => {
        if (version === null) return;
        const v = version;
        version = null;
        await this.store.commit([{ key, version: v }], [{ type: "delete", key }])
          .catch(() => null);
      },
    };
  }

  #set(name: string) {
    const value: LeaseRecord = { ...this.instances.self, until: Date.now() + this.ttlMs };
    return { type: "set" as const, key: meta.lease(name), value, expireInMs: this.ttlMs * 4 };
  }
}
