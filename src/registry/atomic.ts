/**
 * @module
 * Optimistic transactions over the metadata store: read, decide, commit with checks,
 * and try again (a bounded number of times) when another writer got there first.
 */
import { RegistryError } from "../errors.ts";

/** Attempts before giving up on a contended record. */
const ATTEMPTS = 12;

/**
 * Runs `attempt` until it returns something other than null (null means "a check
 * failed, read again"). After {@linkcode ATTEMPTS} tries the request fails with 503
 * `UNAVAILABLE`, which clients retry.
 */
export async function retryCommit<T>(
  what: string,
  attempt: () => Promise<T | null>,
): Promise<T> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const result = await attempt();
    if (result !== null) return result;
    // Jittered backoff keeps racing writers from colliding in lockstep.
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 ** i, 64)));
  }
  throw new RegistryError("UNAVAILABLE", `Too much contention on ${what}; try again`, {
    retryAfter: 1,
  });
}
