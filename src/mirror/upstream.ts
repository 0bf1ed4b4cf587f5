/**
 * @module
 * The HTTP client of one upstream registry: `GET`/`HEAD` under `/v2/`, authenticated as
 * the upstream asks (`upstream_auth.ts`), redirects followed by hand so that credentials
 * never leave the upstream's origin (a blob redirected to a CDN is fetched without them),
 * a time limit on the answer, and every failure to get one turned into an
 * {@linkcode UpstreamError}. Bodies are read through `upstream_read.ts`.
 */
import { BufferPool } from "../../drivers/io_buffer.ts";
import type { Logger } from "../log.ts";
import type { MirrorCounters } from "./counters.ts";
import { UpstreamAuth } from "./upstream_auth.ts";
import { UpstreamError } from "./upstream_error.ts";
import { readUpstream, readUpstreamJson, upstreamStream } from "./upstream_read.ts";

/** What {@linkcode Upstream} needs. */
export interface UpstreamOptions {
  /** The upstream's origin (`https://registry-1.docker.io`). */
  remoteurl: string;
  username?: string;
  password?: string;
  /** Longest wait for an answer, or for the next bytes of a body. */
  timeoutMs: number;
  logger: Logger;
  counters: MirrorCounters;
}

/** One request to the upstream. */
export interface UpstreamRequest {
  /** The repository upstream, whose pull scope the request needs. */
  repository: string;
  /** `Accept` to send. */
  accept?: string;
  /** `Range` to send. */
  range?: string;
  /** Aborts the request (and its body). */
  signal?: AbortSignal;
}

/** Blob bodies are passed on in chunks of at least this size. */
export const BLOB_CHUNK = 512 * 1024;

/**
 * Buffers blob bodies are read into, given back by the copies once every reader passed
 * them (`recycleBlobChunk`). A copy circulates about 18 (its window and the chunks in
 * flight); at most 24 idle ones (12 MiB) are kept between copies.
 */
const BLOB_CHUNKS = new BufferPool(BLOB_CHUNK, 24);

/** Gives a chunk of a blob body back for the next read, when no one else holds it. */
export function recycleBlobChunk(chunk: Uint8Array): void {
  BLOB_CHUNKS.give(chunk);
}

/** Redirects followed before giving up. */
const MAX_REDIRECTS = 5;

/** One upstream registry. */
export class Upstream {
  readonly origin: string;
  readonly #o: UpstreamOptions;
  readonly #auth: UpstreamAuth;

  constructor(options: UpstreamOptions) {
    this.#o = options;
    this.origin = options.remoteurl;
    this.#auth = new UpstreamAuth({
      origin: this.origin,
      username: options.username,
      password: options.password,
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      send: (url, init) => this.#send(url, init, null),
      count: this.#count,
    });
  }

  readonly #count = (bytes: number) => {
    this.#o.counters.received(bytes);
  };

  /**
   * Sends `method` to `/v2/<path>` and returns the upstream's answer, whatever its status
   * (after one retry with fresh credentials on a 401). Throws {@linkcode UpstreamError}
   * when there is no answer in time.
   */
  async request(method: "GET" | "HEAD", path: string, req: UpstreamRequest): Promise<Response> {
    const scope = `repository:${req.repository}:pull`;
    const url = `${this.origin}/v2/${path}`;
    const headers: Record<string, string> = {};
    if (req.accept) headers.Accept = req.accept;
    if (req.range) headers.Range = req.range;
    const init: RequestInit = { method, headers, signal: req.signal };
    let sent = await this.#auth.header(scope);
    const res = await this.#send(url, init, sent);
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    await res.body?.cancel().catch(() => {});
    if (!await this.#auth.challenged(challenge, scope, sent)) return res;
    sent = await this.#auth.header(scope);
    return await this.#send(url, init, sent);
  }

  /** The whole body of an answer, at most `max` bytes. */
  read(response: Response, max: number): Promise<Uint8Array> {
    return readUpstream(response, max, this.#o.timeoutMs, this.#count);
  }

  /** The body of an answer as JSON, at most `max` bytes. */
  readJson<T>(response: Response, max: number): Promise<T> {
    return readUpstreamJson<T>(response, max, this.#o.timeoutMs, this.#count);
  }

  /**
   * The body of an answer as a stream that fails when the upstream stalls, in chunks of
   * at least {@linkcode BLOB_CHUNK} bytes (but the last).
   */
  stream(response: Response): ReadableStream<Uint8Array> {
    return upstreamStream(response, this.#o.timeoutMs, this.#count, BLOB_CHUNK, BLOB_CHUNKS);
  }

  /**
   * One request, following redirects; `authorization` goes only to the upstream's own
   * origin. A connection that fails before any answer is tried once more (a kept-alive
   * connection the upstream closed while restarting fails that way).
   */
  async #send(url: string, init: RequestInit, authorization: string | null): Promise<Response> {
    let current = url;
    let method = init.method ?? "GET";
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = new Headers(init.headers);
      const sameOrigin = new URL(current).origin === this.origin;
      if (authorization && sameOrigin) headers.set("Authorization", authorization);
      let res: Response;
      try {
        res = await this.#once(current, { ...init, method, headers });
      } catch (err) {
        if (!(err instanceof UpstreamError) || err.kind !== "unreachable") throw err;
        res = await this.#once(current, { ...init, method, headers });
      }
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.get("location");
      await res.body?.cancel().catch(() => {});
      if (!location) {
        throw new UpstreamError("invalid", `The upstream redirected ${current} to nowhere`);
      }
      const next = new URL(location, current);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new UpstreamError("invalid", `The upstream redirected to "${next.protocol}"`);
      }
      current = next.href;
      if (res.status === 303) method = "GET";
    }
    throw new UpstreamError("invalid", `The upstream redirected more than ${MAX_REDIRECTS} times`);
  }

  /** One HTTP exchange, limited to the timeout until the answer's headers arrive. */
  async #once(url: string, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const outer = init.signal;
    const onAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    outer?.addEventListener("abort", onAbort, { once: true });
    const timeoutMs = this.#o.timeoutMs;
    const timer = setTimeout(
      () =>
        controller.abort(
          new UpstreamError("timeout", `The upstream did not answer within ${timeoutMs / 1000} s`),
        ),
      timeoutMs,
    );
    this.#o.counters.upstreamRequest();
    try {
      return await fetch(url, { ...init, redirect: "manual", signal: controller.signal });
    } catch (err) {
      const reason = controller.signal.reason;
      if (reason instanceof UpstreamError) throw reason;
      if (outer?.aborted) throw err;
      throw new UpstreamError(
        "unreachable",
        `The upstream ${new URL(url).host} cannot be reached: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }
}
