/**
 * @module
 * Slows down guessing: after too many failed logins from one address within a window,
 * that address gets 429 `TOOMANYREQUESTS` with `Retry-After` until the window passes.
 */
import { RegistryError } from "../errors.ts";

/** Counts failures per client address. */
export class Throttle {
  readonly #failures = new Map<string, number[]>();

  constructor(readonly limit = 10, readonly windowMs = 60_000) {}

  #recent(client: string, now: number): number[] {
    const times = (this.#failures.get(client) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length) this.#failures.set(client, times);
    else this.#failures.delete(client);
    return times;
  }

  /** Throws 429 when `client` has failed too often lately. */
  check(client: string): void {
    const now = Date.now();
    const times = this.#recent(client, now);
    if (times.length >= this.limit) {
      const retry = Math.max(1, Math.ceil((times[0] + this.windowMs - now) / 1000));
      throw new RegistryError("TOOMANYREQUESTS", "Too many failed logins; try again later", {
        retryAfter: retry,
      });
    }
  }

  /** Records a failed login from `client`. */
  fail(client: string): void {
    const now = Date.now();
    const times = this.#recent(client, now);
    times.push(now);
    this.#failures.set(client, times);
    if (this.#failures.size > 100_000) this.#failures.clear();
  }
}
