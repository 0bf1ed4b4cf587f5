/**
 * @module
 * Pacing for background work: an online collection rests as long as it worked (a
 * `duty` of one half), so the pushes and pulls it runs beside keep their speed. The
 * offline command runs at full speed.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps a job's share of wall time near `duty` (0 < duty <= 1). */
export class Pacer {
  #since = performance.now();

  /**
   * @param duty share of the time spent working; 1 never rests
   * @param slice milliseconds of work between rests
   */
  constructor(private readonly duty = 1, private readonly slice = 25) {}

  /** Call between steps: rests when a slice of work is done. */
  async tick(): Promise<void> {
    if (this.duty >= 1) return;
    const worked = performance.now() - this.#since;
    if (worked < this.slice) return;
    await sleep(worked * (1 / this.duty - 1));
    this.#since = performance.now();
  }
}
