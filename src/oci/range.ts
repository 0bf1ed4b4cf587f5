/**
 * @module
 * Parsers for the byte-range headers of the API: `Range: bytes=a-b` on blob reads and
 * `Content-Range: a-b` on upload chunks.
 */
import { RegistryError } from "../errors.ts";
import { truncate } from "./digest.ts";

/** A satisfiable inclusive byte range of an object of known size. */
export interface ResolvedRange {
  start: number;
  end: number;
}

/** Outcome of resolving a `Range` header against an object size. */
export type RangeResult =
  | { kind: "full" }
  | { kind: "partial"; range: ResolvedRange }
  | { kind: "unsatisfiable" };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function toInt(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_SAFE ? n : null;
}

/**
 * Resolves a blob `Range` header (RFC 9110). One range is served; a header that is not a
 * single `bytes=` range is ignored (the whole blob is served), as RFC 9110 allows.
 */
export function resolveRange(header: string | null, size: number): RangeResult {
  if (header === null) return { kind: "full" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  if (m[1] === "") {
    const suffix = toInt(m[2]);
    if (suffix === null) return { kind: "full" };
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = toInt(m[1]);
  const end = m[2] === "" ? Number.MAX_SAFE_INTEGER : toInt(m[2]);
  if (start === null || end === null || end < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", range: { start, end: Math.min(end, size - 1) } };
}

/**
 * Parses an upload chunk's `Content-Range` (`<start>-<end>`, inclusive; `bytes ` prefix
 * and a `/total` suffix tolerated). Returns null when the header is absent.
 */
export function parseContentRange(header: string | null): ResolvedRange | null {
  if (header === null) return null;
  const m = /^\s*(?:bytes[ =])?\s*(\d+)\s*-\s*(\d+)\s*(?:\/\s*(?:\d+|\*))?\s*$/i.exec(header);
  const start = m ? toInt(m[1]) : null;
  const end = m ? toInt(m[2]) : null;
  if (start === null || end === null || end < start) {
    throw new RegistryError(
      "RANGE_INVALID",
      `Content-Range "${truncate(header)}" is not of the form <start>-<end>`,
    );
  }
  return { start, end };
}

/** Parses a non-negative integer header such as `Content-Length`; null when absent. */
export function parseLength(header: string | null, name: string): number | null {
  if (header === null) return null;
  const n = toInt(header.trim());
  if (n === null) {
    throw new RegistryError("SIZE_INVALID", `${name} "${truncate(header)}" is not a valid size`);
  }
  return n;
}
