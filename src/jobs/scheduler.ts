/**
 * @module
 * Periodic work as named jobs: upload purging, heartbeats, and what later capabilities
 * add (garbage collection, mirror expiry, notification delivery, expired-row sweeps). A
 * job runs every `interval`, first after `firstDelay`; one that asks for `fleet: "one"`
 * runs on one instance of a fleet at a time, holding a lease (`lease.ts`) that it renews
 * while it works. Jobs never overlap themselves, and their timers never keep the process
 * alive on their own. A failed run is logged and tried again at the next tick.
 */
import type { Logger } from "../log.ts";
import type { Leases } from "./lease.ts";

/** One periodic job. */
export interface Job {
  /** Stable name, for logs and its lease. */
  name: string;
  /** Milliseconds between the start of one run and the next. */
  interval: number;
  /** Milliseconds before the first run (default: `interval`). */
  firstDelay?: number;
  /** `one`: one instance of the fleet at a time; `each` (default): every instance. */
  fleet?: "one" | "each";
  /** The work; `signal` aborts when the scheduler stops or the lease is lost. */
  run(signal: AbortSignal): Promise<void>;
}

/** Runs jobs until stopped. */
export class Scheduler {
  readonly #jobs = new Map<string, { job: Job; timer: number; running: Promise<void> | null }>();
  readonly #leases: Leases;
  readonly #logger: Logger;
  readonly #stopping = new AbortController();
  #started = false;

  constructor(leases: Leases, logger: Logger) {
    this.#leases = leases;
    this.#logger = logger;
  }

  /** Adds a job; it is scheduled once the scheduler starts (or at once if it has). */
  add(job: Job): void {
    if (this.#jobs.has(job.name)) throw new Error(`Job "${job.name}" is already scheduled`);
    this.#jobs.set(job.name, { job, timer: 0, running: null });
    if (this.#started) this.#schedule(job.name, job.firstDelay ?? job.interval);
  }

  /** Starts every job's timer. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const [name, { job }] of this.#jobs) this.#schedule(name, job.firstDelay ?? job.interval);
  }

  /**
   * Runs job `name` now (unless it is running already) and resolves when that run is
   * over: true when it ran, false when it was skipped (running, or another instance
   * holds its lease). For commands and tests.
   */
  async runNow(name: string): Promise<boolean> {
    const entry = this.#jobs.get(name);
    if (!entry) throw new Error(`No job named "${name}"`);
    if (entry.running) {
      await entry.running;
      return false;
    }
    let ran = false;
    entry.running = this.#run(entry.job).then((r) => {
      ran = r;
    }).finally(() => entry.running = null);
    await entry.running;
    return ran;
  }

  /** Stops every timer, aborts running jobs and waits for them to end. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    const running: Promise<void>[] = [];
    for (const entry of this.#jobs.values()) {
      clearTimeout(entry.timer);
      if (entry.running) running.push(entry.running);
    }
    await Promise.allSettled(running);
  }

  #schedule(name: string, delay: number): void {
    const entry = this.#jobs.get(name)!;
    if (this.#stopping.signal.aborted) return;
    entry.timer = setTimeout(() => {
      if (!entry.running) {
        entry.running = this.#run(entry.job).then(() => {}).finally(() => entry.running = null);
      }
      this.#schedule(name, entry.job.interval);
    }, delay) as unknown as number;
    Deno.unrefTimer(entry.timer);
  }

  /** One run; true when it ran. Failures are logged, not thrown. */
  async #run(job: Job): Promise<boolean> {
    if (this.#stopping.signal.aborted) return false;
    const lease = job.fleet === "one"
      ? await this.#leases.acquire(job.name).catch(() => null)
      : null;
    if (job.fleet === "one" && !lease) return false;
    const abort = new AbortController();
    const onStop = () => abort.abort(this.#stopping.signal.reason);
    this.#stopping.signal.addEventListener("abort", onStop);
    // A run longer than the lease keeps it by renewing; losing it stops the run.
    let renewer = 0;
    if (lease) {
      renewer = setInterval(async () => {
        if (!await lease.renew()) abort.abort(new Error(`Lost the lease of job ${job.name}`));
      }, 2_000) as unknown as number;
      Deno.unrefTimer(renewer);
    }
    try {
      await job.run(abort.signal);
      return true;
    } catch (err) {
      this.#logger.warn("job failed", { job: job.name, error: err });
      return true;
    } finally {
      clearInterval(renewer);
      this.#stopping.signal.removeEventListener("abort", onStop);
      await lease?.release();
    }
  }
}
