/**
 * @module
 * Where the process stands in its life: serving, or draining (a shutdown was asked for:
 * no new connections are taken and readiness fails, so a load balancer stops sending,
 * while requests in flight finish). The serving layer (`src/server/`) flips it; health
 * reports it (`/healthz` answers 503 while draining).
 */

/** The process's serving state, shared by the runtime and its capabilities. */
export class Lifecycle {
  #draining = false;
  readonly #listeners: (() => void)[] = [];

  /** True once a shutdown began. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Marks the process as draining (idempotent) and tells the listeners once. */
  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const listener of this.#listeners) listener();
  }

  /** Calls `listener` when draining begins. */
  onDrain(listener: () => void): void {
    this.#listeners.push(listener);
  }
}
