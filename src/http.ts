/**
 * @module
 * Small HTTP helpers shared by handlers: JSON responses, bounded body reads, absolute or
 * relative locations, pagination parameters and `Link` headers.
 */
import type { Ctx } from "./context.ts";
import { type ErrorCode, RegistryError } from "./errors.ts";

/** A JSON response with an exact `Content-Length`. */
export function json(value: unknown, status = 200, headers: HeadersInit = {}): Response {
  const body = new TextEncoder().encode(JSON.stringify(value));
  const h = new Headers(headers);
  if (!h.has("Content-Type")) h.set("Content-Type", "application/json");
  h.set("Content-Length", String(body.byteLength));
  return new Response(body, { status, headers: h });
}

/** An empty response (sets `Content-Length: 0` so clients do not wait for a body). */
export function empty(status: number, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("Content-Length", "0");
  return new Response(null, { status, headers: h });
}

/**
 * Reads a whole request body of at most `max` bytes; a larger body (announced or sent)
 * is refused with 413 and `code` without reading it all.
 */
export async function readBounded(
  request: Request,
  max: number,
  what: string,
  code: ErrorCode = "MANIFEST_INVALID",
): Promise<Uint8Array> {
  const announced = Number(request.headers.get("content-length") ?? NaN);
  const tooLarge = () =>
    new RegistryError(code, `The ${what} is larger than ${max} bytes`, {
      status: 413,
      detail: { limit: max },
    });
  if (announced > max) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `path` made absolute with `http.host` when configured, else left relative. */
export function location(ctx: Ctx, path: string): string {
  return (ctx.deps.options.baseUrl ?? "") + path;
}

/** `n` and `last` of a paginated listing; `n` must be a non-negative integer. */
export function pagination(url: URL): { n: number | null; last: string | null } {
  const raw = url.searchParams.get("n");
  let n: number | null = null;
  if (raw !== null && raw !== "") {
    if (!/^\d{1,9}$/.test(raw)) {
      throw new RegistryError("PAGINATION_NUMBER_INVALID", `n "${raw.slice(0, 50)}" is invalid`, {
        detail: { n: raw.slice(0, 50) },
      });
    }
    n = Number(raw);
  }
  const last = url.searchParams.get("last");
  return { n, last: last === "" ? null : last };
}

/** RFC 5988 `Link` to the next page. */
export function nextLink(ctx: Ctx, path: string, n: number | null, last: string): string {
  const q = new URLSearchParams();
  if (n !== null) q.set("n", String(n));
  q.set("last", last);
  return `<${location(ctx, path)}?${q}>; rel="next"`;
}
