/**
 * @module
 * Deno KV's limits, enforced before a read or commit by every store, so code tested on
 * the memory store also fits Deno KV, and both stores fail alike: a `TypeError` that
 * names the limit, thrown before anything is applied.
 *
 * Sizes are measured as Deno KV measures them (checked against Deno 2.9): a key is its
 * encoded form (each part takes a type byte and a terminator, NUL bytes take two); a
 * value is its V8 serialization, or its JSON text where that is longer, so a value that
 * passes also fits a JSON-based store.
 */
import { serialize } from "node:v8";
import { type Check, METADATA_LIMITS, type MetaKey, type Mutation } from "./types.ts";

/**
 * Limits of one commit as a whole, beyond {@linkcode METADATA_LIMITS}: every check and
 * mutation key, plus every set's key and value once more, count towards
 * `totalMutationBytes`; the keys of sets count towards `totalSetKeyBytes`.
 */
export const COMMIT_TOTAL_LIMITS = {
  totalMutationBytes: 819_200,
  totalSetKeyBytes: 81_920,
} as const;

const encoder = new TextEncoder();

/** Bytes `key` takes in Deno KV's key encoding. */
export function keyBytes(key: MetaKey): number {
  let n = 0;
  for (const part of key) {
    n += encoder.encode(part).byteLength + 2;
    for (let i = part.indexOf("\0"); i !== -1; i = part.indexOf("\0", i + 1)) n++;
  }
  return n;
}

/** Bytes `value` takes when stored (see the module doc). */
export function valueBytes(value: unknown): number {
  const json = JSON.stringify(value);
  const jsonBytes = json === undefined ? 0 : encoder.encode(json).byteLength;
  return Math.max(serialize(value).byteLength, jsonBytes);
}

function describe(key: MetaKey): string {
  const text = JSON.stringify(key);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Throws a TypeError when `key` cannot be read or written; returns its size. */
export function checkKey(key: MetaKey): number {
  if (!Array.isArray(key) || key.length === 0) {
    throw new TypeError(`Key ${JSON.stringify(key)} is not a non-empty array of strings`);
  }
  if (key.some((part) => typeof part !== "string")) {
    throw new TypeError(`Key ${describe(key)} has a part that is not a string`);
  }
  const size = keyBytes(key);
  if (size > METADATA_LIMITS.keyBytes) {
    throw new TypeError(
      `Key ${describe(key)} is ${size} bytes; the limit is ${METADATA_LIMITS.keyBytes}`,
    );
  }
  return size;
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
  let total = 0;
  let setKeys = 0;
  for (const c of checks) total += checkKey(c.key);
  for (const m of mutations) {
    const size = checkKey(m.key);
    total += size;
    if (m.type !== "set") continue;
    const bytes = valueBytes(m.value);
    if (bytes > METADATA_LIMITS.valueBytes) {
      throw new TypeError(
        `Value at ${describe(m.key)} is ${bytes} bytes; the limit is ${METADATA_LIMITS.valueBytes}`,
      );
    }
    const expire = m.expireInMs;
    if (expire !== undefined && !(Number.isSafeInteger(expire) && expire >= 0)) {
      throw new TypeError(
        `expireInMs at ${describe(m.key)} must be a non-negative integer, got ${expire}`,
      );
    }
    total += size + bytes;
    setKeys += size;
  }
  if (total > COMMIT_TOTAL_LIMITS.totalMutationBytes) {
    throw new TypeError(
      `A commit may carry at most ${COMMIT_TOTAL_LIMITS.totalMutationBytes} bytes of keys and values, got ${total}`,
    );
  }
  if (setKeys > COMMIT_TOTAL_LIMITS.totalSetKeyBytes) {
    throw new TypeError(
      `A commit may set keys of at most ${COMMIT_TOTAL_LIMITS.totalSetKeyBytes} bytes in total, got ${setKeys}`,
    );
  }
}

/** Throws a TypeError for a `getMany` Deno KV would refuse. */
export function checkGetMany(keys: readonly MetaKey[]): void {
  if (keys.length > 10) throw new TypeError(`getMany takes at most 10 keys, got ${keys.length}`);
  for (const key of keys) checkKey(key);
}

/** Throws a TypeError for a list limit that is not a non-negative integer. */
export function checkListLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new TypeError(`List limit must be a non-negative integer, got ${limit}`);
  }
}
