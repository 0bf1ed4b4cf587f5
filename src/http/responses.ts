/**
 * @module
 * Small HTTP helpers shared by handlers: JSON and empty responses, bounded body reads,
 * request bodies that give up when the client stops sending, absolute or relative
 * locations, pagination parameters and `Link` headers.
 */
import { type ErrorCode, RegistryError } from "../errors.ts";
import type { Ctx } from "./route.ts";
import { joinBytes } from "../streams/bytes.ts";
import { owned } from "../streams/tap.ts";

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
 * stalled client. One coarse timer per body, not one per chunk. A byte stream: a BYOB
 * read is forwarded to a byte-stream source with the reader's own buffer, as `tap` does.
 */
export function stallGuarded(
  body: ReadableStream<Uint8Array>,
  timeoutMs: number,
): ReadableStream<Uint8Array> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: read chunk by chunk.
  }
  const plain = byob ? null : body.getReader();
  const source = (byob ?? plain)!;
  let waitingSince = 0;
  let finished = false;
  let timer = 0;
  const stop = () => {
    finished = true;
    clearInterval(timer);
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 128 * 1024,
    start(controller: ReadableByteStreamController) {
      const tick = Math.max(20, Math.min(timeoutMs / 4, 5_000));
      timer = setInterval(() => {
        if (finished || waitingSince === 0 || Date.now() - waitingSince < timeoutMs) return;
        stop();
        const err = new RegistryError(
          "BLOB_UPLOAD_INVALID",
          `The request body sent nothing for ${timeoutMs / 1000} s; the request was aborted ` +
            `and what was stored before it is kept`,
          { detail: { stallTimeoutSeconds: timeoutMs / 1000 } },
        );
        controller.error(err);
        source.cancel(err).catch(() => {});
      }, tick) as unknown as number;
      Deno.unrefTimer(timer);
    },
    async pull(controller: ReadableByteStreamController) {
      const request = controller.byobRequest;
      const view = request?.view;
      const forward = byob !== null && request !== null && view != null;
      waitingSince = Date.now();
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = forward
          ? await byob!.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
          : byob
          ? await byob.read(new Uint8Array(128 * 1024))
          : await plain!.read();
      } catch (err) {
        if (!finished) {
          stop();
          controller.error(err);
        }
        return;
      }
      waitingSince = 0;
      if (finished) return;
      if (result.done) {
        stop();
        controller.close();
        if (forward && result.value) request!.respondWithNewView(result.value);
        else request?.respond(0);
        return;
      }
      if (forward) request!.respondWithNewView(result.value);
      else controller.enqueue(owned(result.value, plain !== null));
    },
    cancel(reason) {
      stop();
      return source.cancel(reason);
    },
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
