/**
 * @module
 * Small HTTP helpers shared by handlers: JSON and empty responses, bounded body reads,
 * request bodies that give up when the client stops sending, absolute or relative
 * locations, pagination parameters and `Link` headers.
 */
import { type ErrorCode, RegistryError } from "../errors.ts";
import type { Ctx } from "./route.ts";
import { joinBytes } from "../streams/bytes.ts";
import { tap } from "../streams/tap.ts";

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
 * `body` passed through, failing with `BLOB_UPLOAD_INVALID` when a read waits more than
 * `timeoutMs` for the client's next bytes (the source is cancelled, so the connection is
 * let go). Time the consumer spends not reading does not count: a slow disk is not a
 * stalled client. A byte stream, as `tap` makes it.
 */
export function stallGuarded(
  body: ReadableStream<Uint8Array>,
  timeoutMs: number,
): ReadableStream<Uint8Array> {
  return tap(body, {}, {
    timeoutMs,
    error: () =>
      new RegistryError(
        "BLOB_UPLOAD_INVALID",
        `The request body sent nothing for ${timeoutMs / 1000} s; the request was aborted ` +
          `and what was stored before it is kept`,
        { detail: { stallTimeoutSeconds: timeoutMs / 1000 } },
      ),
  });
}

/**
 * Reads a whole request body of at most `max` bytes; a larger body (announced or sent)
 * is refused with 413 and `code` without reading it all. A client that stops sending
 * for `stallTimeoutMs` gets `BLOB_UPLOAD_INVALID`.
 */
export async function readBounded(
  request: Request,
  max: number,
  what: string,
  code: ErrorCode = "MANIFEST_INVALID",
  stallTimeoutMs?: number,
): Promise<Uint8Array> {
  const announced = Number(request.headers.get("content-length") ?? NaN);
  const tooLarge = () =>
    new RegistryError(code, `The ${what} is larger than ${max} bytes`, {
      tooLarge: max,
      detail: { limit: max },
    });
  if (announced > max) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array(0);
  const body = stallTimeoutMs ? stallGuarded(request.body, stallTimeoutMs) : request.body;
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  while (true) {
    const { done, value } = await reader.read().catch((err) => {
      // A stalled body is reported with the code of what was being read.
      if (err instanceof RegistryError && err.code === "BLOB_UPLOAD_INVALID") {
        throw new RegistryError(code, err.message, { detail: err.detail, cause: err });
      }
      throw err;
    });
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return joinBytes(parts, size);
}

/** The request's body, aborted if the client stops sending (`berth.uploads.stalltimeout`). */
export function requestBody(ctx: Ctx): ReadableStream<Uint8Array> | null {
  const body = ctx.request.body;
  const timeout = ctx.deps.options.stallTimeoutMs;
  return body && timeout ? stallGuarded(body, timeout) : body;
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
