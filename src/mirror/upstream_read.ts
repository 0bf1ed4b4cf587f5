/**
 * @module
 * The only code that reads an upstream registry's response bodies: whole small bodies
 * (manifests, tag lists, tokens) with a size bound, and blob bodies as streams. Both give
 * up when the upstream sends nothing for the mirror's `timeout`, and count the bytes.
 * Keeping every read here means a change in how bodies are best consumed in Deno lands
 * in one place.
 */
import { type BufferPool, ioBuffer, ioView } from "../../drivers/io_buffer.ts";
import { joinBytes } from "../streams/bytes.ts";
import { tap } from "../streams/tap.ts";
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
 * The body of `response` as a stream, failing with a `timeout` {@linkcode UpstreamError}
 * (and letting the connection go) when a read waits more than `timeoutMs` for the next
 * bytes: `tap`'s stall guard, so time the consumer spends not reading does not count.
 * Any other failure to read is `unreachable`. With `gather`, the stream's chunks hold
 * `gather` bytes each (the last one fewer), read straight into buffers of `pool` when it
 * holds that size (a fetch body fills them directly; another body's chunks are copied in);
 * without, they are the upstream's own.
 */
export function upstreamStream(
  response: Response,
  timeoutMs: number,
  count: ByteCounter,
  gather = 0,
  pool?: BufferPool,
): ReadableStream<Uint8Array> {
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const watched = tap(body, { chunk: (bytes) => count(bytes.byteLength) }, {
    timeoutMs,
    error: () =>
      new UpstreamError("timeout", `The upstream sent nothing for ${timeoutMs / 1000} s`),
  });
  const source = gather > 0
    ? gathering(
      watched.getReader({ mode: "byob" }),
      pool?.size === gather ? () => pool.take() : () => ioBuffer(gather),
    )
    : plainChunks(watched.getReader());
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Uint8Array | null;
      try {
        chunk = await source.next();
      } catch (err) {
        finished = true;
        controller.error(
          err instanceof UpstreamError
            ? err
            : new UpstreamError("unreachable", `Reading from the upstream failed: ${err}`, {
              cause: err,
            }),
        );
        return;
      }
      if (finished) return;
      if (chunk === null) {
        finished = true;
        controller.close();
        return;
      }
      controller.enqueue(chunk);
    },
    cancel(reason) {
      finished = true;
      return source.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The next chunk of a body (null at its end). */
interface ChunkSource {
  next(): Promise<Uint8Array | null>;
  cancel(reason: unknown): Promise<void>;
}

function plainChunks(reader: ReadableStreamDefaultReader<Uint8Array>): ChunkSource {
  return {
    async next() {
      const { done, value } = await reader.read();
      return done ? null : value;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/**
 * Reads into a buffer of `fresh()` until it is full or the body ends: the network buffers
 * are copied once, into the chunk every reader of the blob shares, and every reader pays
 * per chunk, not per network read.
 */
function gathering(reader: ReadableStreamBYOBReader, fresh: () => Uint8Array): ChunkSource {
  let ended = false;
  return {
    async next() {
      if (ended) return null;
      let chunk = fresh();
      const size = chunk.byteLength;
      let filled = 0;
      while (filled < size) {
        const result = await reader.read(chunk.subarray(filled));
        // Every read takes the buffer over and hands it back (at the end too, empty).
        if (result.value) chunk = ioView(result.value.buffer);
        if (result.done) {
          ended = true;
          break;
        }
        filled += result.value.byteLength;
      }
      return filled > 0 ? chunk.subarray(0, filled) : null;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
