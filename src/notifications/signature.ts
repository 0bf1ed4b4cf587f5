/**
 * @module
 * Signed deliveries: with an endpoint `secret`, each request carries
 * `Berth-Signature: t=<unix seconds>,v1=<hex>`, where the hex is the HMAC-SHA256 under
 * the secret of the timestamp, a dot and the exact body (`<t>.<body>`). A receiver
 * recomputes it, compares in constant time, and refuses timestamps far from its clock,
 * so a captured request cannot be replayed later.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** The request header that carries the signature. */
export const SIGNATURE_HEADER = "Berth-Signature";

/** The header value signing `body` at `timestamp` (seconds since the epoch). */
export function sign(secret: string, body: string, timestamp: number): string {
  const t = Math.floor(timestamp);
  return `t=${t},v1=${hmac(secret, `${t}.${body}`)}`;
}

/**
 * True when `header` is a valid signature of `body` under `secret`, made within
 * `toleranceSeconds` (default 300) of `now` (seconds since the epoch).
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | null,
  options: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return false;
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - Number(m[1])) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(hmac(secret, `${m[1]}.${body}`), "hex");
  return timingSafeEqual(expected, Buffer.from(m[2], "hex"));
}

function hmac(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text).digest("hex");
}
