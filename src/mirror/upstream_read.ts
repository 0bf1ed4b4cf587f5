/**
 * @module
 * The only code that reads an upstream registry's response bodies: whole small bodies
 * (manifests, tag lists, tokens) with a size bound, and blob bodies as streams. Both give
 * up when the upstream sends nothing for the mirror's `timeout`, and count the bytes.
 * Keeping every read here means a change in how bodies are best consumed in Deno lands
 * in one place.
 */
import { joinBytes } from "../streams/bytes.ts";
import { UpstreamError } from "./upstream_error.ts";

/** Called with the size of every chunk received. */
export type ByteCounter = (bytes: number) => void;

/**
 * The whole body of `response`, at most `max` bytes; `invalid` when larger (announced or
 * sent), `timeout` when the upstream stalls.
 */
export async function readUpstream(
  response: Response,
  max: number,
  timeoutMs: number,
  count: ByteCounter,
): Promise<Uint8Array> {
  const announced = Number(response.headers.get("content-length") ?? NaN);
  const tooLarge = () =>
    new UpstreamError("invalid", `The upstream's answer is larger than ${max} bytes`);
  if (announced > max) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = upstreamStream(response, timeoutMs, count).getReader();
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
  return joinBytes(parts, size);
}

/** The body of `response` parsed as JSON (at most `max` bytes); `invalid` when it is not. */
export async function readUpstreamJson<T>(
  response: Response,
  max: number,
  timeoutMs: number,
  count: ByteCounter,
): Promise<T> {
  const bytes = await readUpstream(response, max, timeoutMs, count);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    throw new UpstreamError("invalid", "The upstream's answer is not JSON", { cause: err });
  }
}

/**
 * The body of `response` as a stream of the upstream's own chunks, failing with a
 * `timeout` {@linkcode UpstreamError} (and letting the connection go) when a read waits
 * more than `timeoutMs` for the next bytes. Time the consumer spends not reading does not
 * count. One coarse timer per body, not one per chunk. With `gather`, chunks are joined
 * until they hold at least that many bytes (or the body ends).
 */
export function upstreamStream(
  response: Response,
  timeoutMs: number,
  count: ByteCounter,
  gather = 0,
): ReadableStream<Uint8Array> {
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const reader = body.getReader();
  let waitingSince = 0;
  let finished = false;
  let timer = 0;
  const stop = () => {
    finished = true;
    clearInterval(timer);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = Math.max(20, Math.min(timeoutMs / 4, 5_000));
      timer = setInterval(() => {
        if (finished || waitingSince === 0 || Date.now() - waitingSince < timeoutMs) return;
        stop();
        const err = new UpstreamError(
          "timeout",
          `The upstream sent nothing for ${timeoutMs / 1000} s`,
        );
        controller.error(err);
        reader.cancel(err).catch(() => {});
      }, tick) as unknown as number;
      Deno.unrefTimer(timer);
    },
    async pull(controller) {
      // Small network chunks are gathered: every reader of a blob (the store, each client)
      // pays per chunk, not per byte.
      const parts: Uint8Array[] = [];
      let size = 0;
      do {
        waitingSince = Date.now();
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          if (!finished) {
            stop();
            controller.error(
              err instanceof UpstreamError
                ? err
                : new UpstreamError("unreachable", `Reading from the upstream failed: ${err}`, {
                  cause: err,
                }),
            );
          }
          return;
        }
        waitingSince = 0;
        if (finished) return;
        if (result.done) {
          stop();
          if (size > 0) controller.enqueue(joinBytes(parts, size));
          controller.close();
          return;
        }
        count(result.value.byteLength);
        parts.push(result.value);
        size += result.value.byteLength;
      } while (size < gather);
      controller.enqueue(joinBytes(parts, size));
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
