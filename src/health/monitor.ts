/**
 * @module
 * Health checks run periodically, each keeping its last verdict with distribution's
 * threshold rule: a check counts as failed once it failed `threshold` times in a row
 * (0 or 1: at the first failure), and as healthy again at its first success. Reading the
 * state costs nothing, so every request can consult it.
 */
import type { Probe } from "./checks.ts";

/** One check and its state. */
export class MonitoredCheck {
  readonly name: string;
  readonly interval: number;
  readonly #probe: Probe;
  readonly #threshold: number;
  #failures = 0;
  #error: string | null = null;

  constructor(name: string, probe: Probe, interval: number, threshold: number) {
    this.name = name;
    this.#probe = probe;
    this.interval = interval;
    this.#threshold = threshold;
  }

  /** The error of a check that counts as failed, or null. */
  get error(): string | null {
    return this.#failures >= Math.max(1, this.#threshold) ? this.#error : null;
  }

  /** Runs the probe once and records the outcome. */
  async run(): Promise<void> {
    try {
      await this.#probe();
      this.#failures = 0;
      this.#error = null;
    } catch (err) {
      this.#failures++;
      this.#error = (err as Error).message || String(err);
    }
  }
}

/** The failed checks of `checks`, name to error (distribution's `/debug/health` body). */
export function failures(checks: readonly MonitoredCheck[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const check of checks) {
    const error = check.error;
    if (error !== null) out[check.name] = error;
  }
  return out;
}
