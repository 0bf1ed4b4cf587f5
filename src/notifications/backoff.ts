/**
 * @module
 * When a failing endpoint is tried again. Up to `threshold` failures in a row, after a
 * short pause (at most 200 ms, or `backoff` if shorter); from then on after `backoff`,
 * doubling with each further failure up to eight times `backoff`. Every wait is spread
 * by ±20 % so a fleet's retries do not fall into step.
 */

/** The shortest pause between retries before the threshold is reached. */
const QUICK_RETRY_MS = 200;
/** How far the wait grows: `backoff` times this at most. */
export const BACKOFF_CAP_FACTOR = 8;

/** Milliseconds to wait after `consecutive` failures in a row (at least one). */
export function retryDelay(
  consecutive: number,
  endpoint: { threshold: number; backoff: number },
  random: () => number = Math.random,
): number {
  const { threshold, backoff } = endpoint;
  const base = consecutive < threshold
    ? Math.min(QUICK_RETRY_MS, backoff)
    : Math.min(backoff * 2 ** (consecutive - threshold), backoff * BACKOFF_CAP_FACTOR);
  return Math.round(base * (0.8 + 0.4 * random()));
}
