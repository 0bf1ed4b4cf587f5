/**
 * @module
 * Deno KV's limits, enforced before a commit by every store, so code tested on the
 * memory store also fits Deno KV.
 */
import { type Check, METADATA_LIMITS, type MetaKey, type Mutation } from "./types.ts";

const encoder = new TextEncoder();

function keyBytes(key: MetaKey): number {
  return key.reduce((n, part) => n + encoder.encode(part).byteLength + 2, 0);
}

/** Throws a TypeError naming the limit a commit would break; applies nothing. */
export function checkCommitLimits(checks: readonly Check[], mutations: readonly Mutation[]): void {
  if (checks.length > METADATA_LIMITS.checksPerCommit) {
    throw new TypeError(
      `A commit may have at most ${METADATA_LIMITS.checksPerCommit} checks, got ${checks.length}`,
    );
  }
  if (mutations.length > METADATA_LIMITS.mutationsPerCommit) {
    throw new TypeError(
      `A commit may have at most ${METADATA_LIMITS.mutationsPerCommit} mutations, got ${mutations.length}`,
    );
  }
  for (const { key } of [...checks, ...mutations]) {
    if (keyBytes(key) > METADATA_LIMITS.keyBytes) {
      throw new TypeError(`Key ${JSON.stringify(key).slice(0, 80)}… is over 2 KiB`);
    }
  }
  for (const m of mutations) {
    if (m.type !== "set") continue;
    const size = encoder.encode(JSON.stringify(m.value)).byteLength;
    if (size > METADATA_LIMITS.valueBytes) {
      throw new TypeError(
        `Value at ${JSON.stringify(m.key).slice(0, 80)} is ${size} bytes; the limit is 64 KiB`,
      );
    }
  }
}
