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
 * count. One coarse timer per body, not one per chunk. With `gather`, the stream's chunks
 * hold `gather` bytes each (the last one fewer): a byte stream body (fetch's) is read
 * straight into them (buffers of `pool` when it holds that size), any other body's chunks are
 * joined into them.
 */
export function upstreamStream(
  response: Response,
  timeoutMs: number,
  count: ByteCounter,
  gather = 0,
  pool?: BufferPool,
): ReadableStream<Uint8Array> {
  const body = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  let waitingSince = 0;
  let finished = false;
  let timer = 0;
  const stop = () => {
    finished = true;
    clearInterval(timer);
  };
  // One read of the body, timed; null at its end.
  const timed = async <T>(read: () => Promise<ReadableStreamReadResult<T>>) => {
    waitingSince = Date.now();
    const result = await read();
    waitingSince = 0;
    return result;
  };
  const source = chunkSource(body, gather, timed, count, pool);
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
        source.cancel(err).catch(() => {});
      }, tick) as unknown as number;
      Deno.unrefTimer(timer);
    },
    async pull(controller) {
      let chunk: Uint8Array | null;
      try {
        chunk = await source.next();
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
      if (finished) return;
      if (chunk === null) {
        stop();
        controller.close();
        return;
      }
      controller.enqueue(chunk);
    },
    cancel(reason) {
      stop();
      return source.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

type TimedRead = <T>(read: () => Promise<ReadableStreamReadResult<T>>) => Promise<
  ReadableStreamReadResult<T>
>;

/** The next chunk of a body (null at its end), `gather` bytes at a time when set. */
interface ChunkSource {
  next(): Promise<Uint8Array | null>;
  cancel(reason: unknown): Promise<void>;
}

function chunkSource(
  body: ReadableStream<Uint8Array>,
  gather: number,
  timed: TimedRead,
  count: ByteCounter,
  pool?: BufferPool,
): ChunkSource {
  if (gather > 0) {
    try {
      const fresh = pool?.size === gather ? () => pool.take() : () => ioBuffer(gather);
      return byobSource(body.getReader({ mode: "byob" }), fresh, timed, count);
    } catch {
      // Not a byte stream: its chunks are joined below.
    }
  }
  const reader = body.getReader();
  return {
    async next() {
      // Small network chunks are gathered: every reader of a blob (the store, each client)
      // pays per chunk, not per byte.
      const parts: Uint8Array[] = [];
      let size = 0;
      do {
        const result = await timed(() => reader.read());
        if (result.done) return size > 0 ? joinBytes(parts, size) : null;
        count(result.value.byteLength);
        parts.push(result.value);
        size += result.value.byteLength;
      } while (size < gather);
      return joinBytes(parts, size);
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/**
 * Reads into a buffer of `fresh()` until it is full or the body ends: the network buffers
 * are copied once, into the chunk every reader of the blob shares.
 */
function byobSource(
  reader: ReadableStreamBYOBReader,
  fresh: () => Uint8Array,
  timed: TimedRead,
  count: ByteCounter,
): ChunkSource {
  let ended = false;
  return {
    async next() {
      if (ended) return null;
      let chunk = fresh();
      const size = chunk.byteLength;
      let filled = 0;
      while (filled < size) {
        const result = await timed(() => reader.read(chunk.subarray(filled)));
        // Every read takes the buffer over and hands it back (at the end too, empty).
        if (result.value) chunk = ioView(result.value.buffer);
        if (result.done) {
          ended = true;
          break;
        }
        count(result.value.byteLength);
        filled += result.value.byteLength;
      }
      return filled > 0 ? chunk.subarray(0, filled) : null;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
