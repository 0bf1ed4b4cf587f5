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
 *
 * Small values are not serialised: Deno's `node:v8` serializer keeps about 5 KB of native
 * memory per call (Deno 2.9), which grew a registry's resident memory by tens of MiB per
 * ten thousand writes. An upper bound of their V8 form is computed instead; where it is
 * not above the JSON text, the measure is the same, and otherwise it errs by a few bytes
 * on the strict side, far below any limit.
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

/** Values whose V8 form is bounded by this are measured by the bound, not serialised. */
const BOUNDED_BELOW = 16_384;

/** Bytes `value` takes when stored (see the module doc). */
export function valueBytes(value: unknown): number {
  const json = JSON.stringify(value);
  const jsonBytes = json === undefined ? 0 : encoder.encode(json).byteLength;
  const bound = v8Bound(value, 0);
  // Two bytes of header (version tag and version).
  if (bound !== null && bound + 2 <= BOUNDED_BELOW) return Math.max(bound + 2, jsonBytes);
  return Math.max(serialize(value).byteLength, jsonBytes);
}

/**
 * An upper bound of the bytes V8's serializer writes for `value` (without its header),
 * or null for anything but plain data (which is then serialised to be measured).
 * Strings count as two-byte (V8 may hold even ASCII that way) with a padding byte, every
 * number as a double, lengths and counts as five-byte varints.
 */
function v8Bound(value: unknown, depth: number): number | null {
  if (depth > 32) return null;
  switch (typeof value) {
    case "string":
      return 7 + 2 * value.length;
    case "number":
      return 9;
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      let total = 16;
      if (Array.isArray(value)) {
        // Dense or sparse, each element costs at most an index and its value.
        for (const item of value) {
          const size = v8Bound(item, depth + 1);
          if (size === null) return null;
          total += 6 + size;
        }
        return total;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return null;
      for (const [key, item] of Object.entries(value)) {
        const size = v8Bound(item, depth + 1);
        if (size === null) return null;
        total += 7 + 2 * key.length + size;
      }
      return total;
    }
    default:
      return null;
  }
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
