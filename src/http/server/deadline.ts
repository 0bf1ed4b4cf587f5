/**
 * @module
 * One re-armable deadline per connection. Moving it (every socket read or write of a large
 * body moves it) only stores a number; the single timer behind it is rescheduled when it
 * fires early or must fire sooner, so per-read timeouts cost no timer churn.
 */

/** Calls `onExpire` once when a set deadline passes. */
export class Deadline {
  readonly #onExpire: () => void;
  #at = Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #expired = false;

  constructor(onExpire: () => void) {
    this.#onExpire = onExpire;
  }

  /** True once the deadline passed (and `onExpire` ran). */
  get expired(): boolean {
    return this.#expired;
  }

  /** Expires `ms` from now (replacing any earlier setting); `null` clears it. */
  set(ms: number | null): void {
    if (this.#expired) return;
    if (ms === null) {
      this.#at = Infinity;
      return;
    }
    this.#at = Date.now() + ms;
    if (this.#at < this.#timerAt) this.#schedule();
  }

  /** Stops the timer for good. */
  dispose(): void {
    this.#at = Infinity;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timerAt = this.#at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, this.#at - Date.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#at === Infinity) return;
    if (Date.now() < this.#at) {
      this.#schedule();
      return;
    }
    this.#expired = true;
    this.#onExpire();
  }
}
