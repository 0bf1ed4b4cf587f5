/**
 * @module
 * How the PostgreSQL store writes keys and values.
 *
 * A key becomes one `bytea` whose byte order is the interface's key order, so the
 * database's own index orders, pages and bounds listings: each part is its UTF-8 bytes,
 * with NUL written as `00 FF`, followed by a `00` terminator. A shorter part then sorts
 * before any longer one it begins (its terminator is below every UTF-8 byte and below
 * the `FF` of an escaped NUL), and a key before every key it is a prefix of. The keys
 * strictly under a prefix `p` are exactly those in the open range `(enc(p), enc(p) FF)`:
 * what follows a prefix is a next part, whose first byte is a UTF-8 byte or a
 * terminator, never `FF` (UTF-8 has no such byte).
 *
 * A value is its JSON text (a `text` column, so NUL characters, escaped by JSON, are
 * fine). Values must be plain JSON data; anything JSON would change or drop (a `Date`,
 * a typed array, `NaN`, a `Map`) is refused with a `TypeError` before anything is
 * written, so a store never silently returns something else than it was given.
 */
import type { MetaKey } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The `bytea` form of `key` (see the module doc). */
export function encodeKey(key: MetaKey): Uint8Array {
  const parts = key.map((part) => {
    if (!part.isWellFormed()) {
      throw new TypeError(`Key part ${JSON.stringify(part)} is not well-formed Unicode`);
    }
    return encoder.encode(part);
  });
  let size = 0;
  for (const p of parts) {
    size += p.byteLength + 1;
    for (const b of p) if (b === 0) size++;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    for (const b of p) {
      out[at++] = b;
      if (b === 0) out[at++] = 0xff;
    }
    out[at++] = 0;
  }
  return out;
}

/** The key whose `bytea` form is `bytes`. */
export function decodeKey(bytes: Uint8Array): string[] {
  const key: string[] = [];
  let part: number[] = [];
  for (let i = 0; i < bytes.byteLength; i++) {
    const b = bytes[i];
    if (b !== 0) part.push(b);
    else if (bytes[i + 1] === 0xff) {
      part.push(0);
      i++;
    } else {
      key.push(decoder.decode(new Uint8Array(part)));
      part = [];
    }
  }
  if (part.length) throw new TypeError("A stored key does not end with a terminator");
  return key;
}

/** The exclusive bounds of the keys strictly under `prefix`, as `bytea`. */
export function prefixRange(prefix: MetaKey): { above: Uint8Array; below: Uint8Array } {
  const above = encodeKey(prefix);
  const below = new Uint8Array(above.byteLength + 1);
  below.set(above);
  below[above.byteLength] = 0xff;
  return { above, below };
}

/** Byte-wise comparison, the order PostgreSQL gives `bytea`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.byteLength - b.byteLength;
}

/** Lower-case hex of `bytes` (how keys travel in array parameters). */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += (b < 16 ? "0" : "") + b.toString(16);
  return s;
}

function describe(key: MetaKey): string {
  const text = JSON.stringify(key);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Throws a TypeError unless `value` is plain JSON data (see the module doc). */
function checkPlain(value: unknown, key: MetaKey, depth = 0): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new TypeError(`Value at ${describe(key)} holds ${value}, which JSON cannot keep`);
  }
  if (depth > 200) throw new TypeError(`Value at ${describe(key)} is nested too deeply`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) {
        throw new TypeError(`Value at ${describe(key)} has an undefined array element`);
      }
      checkPlain(value[i], key, depth + 1);
    }
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as object).constructor?.name ?? "object";
      throw new TypeError(`Value at ${describe(key)} holds a ${kind}, which is not plain JSON`);
    }
    for (const v of Object.values(value as object)) {
      if (v !== undefined) checkPlain(v, key, depth + 1);
    }
    return;
  }
  throw new TypeError(`Value at ${describe(key)} holds a ${typeof value}, which is not JSON`);
}

/** The stored text of `value`; a TypeError when it is not plain JSON data. */
export function encodeValue(value: unknown, key: MetaKey): string {
  checkPlain(value, key);
  return JSON.stringify(value);
}

/**
 * The advisory lock of a key within Berth's lock class: a 32-bit FNV-1a hash of its
 * `bytea` form. Two keys sharing a hash only take turns; they never see each other's
 * records.
 */
export function lockOf(encoded: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of encoded) h = Math.imul(h ^ b, 0x01000193);
  return h | 0;
}
