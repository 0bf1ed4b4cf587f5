/**
 * @module
 * Byte arrays gathered from a stream, made one.
 */

/** `parts` (of `size` bytes in all) as one array; the part itself when there is only one. */
export function joinBytes(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
