/**
 * @module
 * The S3 driver's HTTP layer: options in the shape of distribution's `storage.s3`
 * section, bucket and object URLs (path-style or virtual-hosted), SigV4-signed `fetch`
 * calls, and the retry policy.
 *
 * Retries: every request the driver sends has a buffered body or none (object bodies are
 * cut into buffered parts before they are sent), so each one can be replayed. Network
 * errors, 5xx, 429 and S3's throttling codes are retried with exponential backoff and
 * full jitter, a bounded number of times; what still fails becomes
 * {@linkcode DriverUnavailableError}, as does any status the caller did not expect.
 */
import { DriverUnavailableError } from "./types.ts";
import { type ListedObject, parseListObjects, parseS3Error } from "./s3_xml.ts";
import {
  type Credentials,
  EMPTY_SHA256,
  presignUrl,
  sha256Hex,
  signHeaders,
  type SigningCache,
  type SigningScope,
} from "./s3_sign.ts";

/** Options of the S3 driver: distribution's `storage.s3` keys, plus test seams. */
export interface S3DriverOptions {
  region: string;
  bucket: string;
  /** Endpoint of an S3-compatible service (`http://127.0.0.1:9000`); implies path-style. */
  regionendpoint?: string;
  /** Address buckets as `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`. */
  forcepathstyle?: boolean;
  /** Access key; `AWS_ACCESS_KEY_ID` from the environment when absent. */
  accesskey?: string;
  /** Secret key; `AWS_SECRET_ACCESS_KEY` from the environment when absent. */
  secretkey?: string;
  sessiontoken?: string;
  /** Prefix of every object the driver writes (`/` or empty for the bucket root). */
  rootdirectory?: string;
  /** Multipart part size in bytes; at least 5 MiB (S3's minimum). Default 10 MiB. */
  chunksize?: number;
  /** HTTPS when true (default) and the endpoint names no scheme. */
  secure?: boolean;
  /** The `fetch` to send requests with (tests wrap it to watch or break traffic). */
  fetch?: typeof fetch;
  /** Attempts per request, first included. Default 5. */
  retries?: number;
  /** First backoff delay in milliseconds; doubles per attempt, up to 5 s. Default 100. */
  retrydelayms?: number;
  /** How long a request may wait for response headers. Default 120 s. */
  requesttimeoutms?: number;
}

/** S3's smallest part (all but the last part of a multipart upload). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's highest part number. */
export const MAX_PARTS = 10_000;

/** One S3 call. */
export interface S3Call {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** Object key inside the bucket (already under the root directory); none for the bucket. */
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Non-2xx statuses the caller handles itself (404, 416) instead of failing. */
  accept?: readonly number[];
}

/** A finished call whose body was read as text. */
export interface S3TextResponse {
  status: number;
  headers: Headers;
  text: string;
}

const RETRYABLE_CODES = new Set([
  "SlowDown",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
]);

/** Signs and sends S3 requests for one bucket. */
export class S3Client {
  readonly bucket: string;
  readonly #endpoint: URL;
  readonly #pathStyle: boolean;
  readonly #credentials: Credentials;
  readonly #scope: SigningScope;
  readonly #cache: SigningCache = new Map();
  readonly #fetch: typeof fetch;
  readonly #attempts: number;
  readonly #delayMs: number;
  readonly #timeoutMs: number;

  constructor(options: S3DriverOptions) {
    if (!options?.bucket) throw new Error("The s3 storage driver needs a bucket");
    if (!options.region) throw new Error("The s3 storage driver needs a region");
    this.bucket = options.bucket;
    const scheme = options.secure === false ? "http" : "https";
    const endpoint = options.regionendpoint
      ? /^[a-z]+:\/\//i.test(options.regionendpoint)
        ? options.regionendpoint
        : `${scheme}://${options.regionendpoint}`
      : `${scheme}://s3.${options.region}.amazonaws.com`;
    this.#endpoint = new URL(endpoint);
    this.#pathStyle = Boolean(options.forcepathstyle || options.regionendpoint);
    this.#credentials = credentialsFrom(options);
    this.#scope = { region: options.region, service: "s3" };
    this.#fetch = options.fetch ?? fetch;
    this.#attempts = Math.max(1, options.retries ?? 5);
    this.#delayMs = options.retrydelayms ?? 100;
    this.#timeoutMs = options.requesttimeoutms ?? 120_000;
  }

  /** URL of the bucket (no key) or of an object. */
  url(key?: string, query?: Record<string, string>): URL {
    const path = key === undefined ? "" : key.split("/").map(encodeSegment).join("/");
    const base = this.#endpoint.pathname.replace(/\/+$/, "");
    const url = new URL(this.#endpoint);
    if (this.#pathStyle) {
      url.pathname = `${base}/${encodeSegment(this.bucket)}${key === undefined ? "" : "/"}${path}`;
    } else {
      url.hostname = `${this.bucket}.${url.hostname}`;
      url.pathname = `${base}/${path}`;
    }
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return url;
  }

  /** A presigned GET URL of an object, valid for `ttlSeconds`. */
  async presign(key: string, ttlSeconds: number): Promise<string> {
    return (await presignUrl("GET", this.url(key), ttlSeconds, this.#credentials, this.#scope))
      .toString();
  }

  /** Size of the object at `key`, or null when there is none (HEAD). */
  async head(key: string): Promise<number | null> {
    return (await this.headObject(key))?.size ?? null;
  }

  /** Size and `Last-Modified` of the object at `key`, or null when there is none (HEAD). */
  async headObject(key: string): Promise<{ size: number; modified: number } | null> {
    const response = await this.send({ method: "HEAD", key, accept: [404] });
    await response.body?.cancel();
    if (response.status === 404) return null;
    const size = Number(response.headers.get("content-length"));
    if (!Number.isSafeInteger(size)) throw new Error(`S3 sent no size for ${key}`);
    return { size, modified: Date.parse(response.headers.get("last-modified") ?? "") || 0 };
  }

  /** Stores `bytes` at `key` (PutObject; S3 publishes it whole). */
  async put(key: string, bytes: Uint8Array): Promise<void> {
    const response = await this.send({ method: "PUT", key, body: bytes });
    await response.body?.cancel();
  }

  /**
   * GetObject of `key` (or of the inclusive byte range `[start, end]`); the response is
   * 404 or 416 when there is no such object or range, its body unread either way.
   */
  get(key: string, range?: { start: number; end?: number }): Promise<Response> {
    const headers: Record<string, string> = range
      ? { range: `bytes=${range.start}-${range.end ?? ""}` }
      : {};
    return this.send({ method: "GET", key, headers, accept: [404, 416] });
  }

  /** Deletes the object at `key`; deleting nothing is not an error. */
  async remove(key: string): Promise<void> {
    const response = await this.send({ method: "DELETE", key, accept: [404] });
    await response.body?.cancel();
  }

  /** Every object whose key starts with `prefix` (ListObjectsV2, followed page by page). */
  async *list(prefix: string): AsyncIterable<ListedObject> {
    let token: string | null = null;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix };
      if (token) query["continuation-token"] = token;
      const page = parseListObjects((await this.sendText({ method: "GET", query })).text);
      yield* page.objects;
      token = page.next;
    } while (token);
  }

  /**
   * Sends `call`, retrying transient failures. Returns the response (its body unread)
   * when the status is 2xx or in `call.accept`; throws {@linkcode DriverUnavailableError}
   * otherwise.
   */
  send(call: S3Call): Promise<Response> {
    return this.#attempt(call, (response) => Promise.resolve(response));
  }

  /**
   * Like {@linkcode send}, but reads the body as text inside the retry loop, so a
   * connection that drops mid-body is retried too, and a 200 that carries an S3
   * `<Error>` document (CompleteMultipartUpload does that) counts as a failure.
   */
  sendText(call: S3Call): Promise<S3TextResponse> {
    return this.#attempt(call, async (response) => {
      const text = await response.text();
      if (response.ok) {
        const error = parseS3Error(text);
        if (error) throw new S3Failure(500, error.code, error.message);
      }
      return { status: response.status, headers: response.headers, text };
    });
  }

  async #attempt<T>(call: S3Call, finish: (response: Response) => Promise<T>): Promise<T> {
    const what = `${call.method} ${call.key ?? this.bucket}`;
    const payloadHash = call.body ? await sha256Hex(call.body) : EMPTY_SHA256;
    let last: unknown;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      if (attempt > 0) await this.#backoff(attempt);
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new Error(`No response within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      try {
        const response = await this.#fetchOnce(call, payloadHash, controller.signal);
        if (!response.ok && !call.accept?.includes(response.status)) {
          const text = call.method === "HEAD" ? "" : await response.text();
          const error = parseS3Error(text);
          throw new S3Failure(response.status, error?.code ?? "", error?.message ?? "");
        }
        return await finish(response);
      } catch (err) {
        last = err;
        if (!retryable(err)) break;
      } finally {
        clearTimeout(timer);
      }
    }
    const reason = last instanceof Error ? last.message : String(last);
    throw new DriverUnavailableError(`S3 request ${what} failed: ${reason}`, { cause: last });
  }

  async #fetchOnce(call: S3Call, payloadHash: string, signal: AbortSignal): Promise<Response> {
    const url = this.url(call.key, call.query);
    const headers = await signHeaders(
      { method: call.method, url, headers: call.headers, payloadHash },
      this.#credentials,
      this.#scope,
      this.#cache,
    );
    return await this.#fetch(url, {
      method: call.method,
      headers,
      body: call.body as BodyInit | undefined,
      // A redirect (wrong region) re-sent elsewhere would fail its signature; report it.
      redirect: "manual",
      signal,
    });
  }

  #backoff(attempt: number): Promise<void> {
    const ceiling = Math.min(5_000, this.#delayMs * 2 ** (attempt - 1));
    return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
  }
}

/** An S3 error response: `HTTP <status> <code>: <message>`. */
class S3Failure extends Error {
  constructor(readonly status: number, readonly code: string, detail: string) {
    super(`HTTP ${status}${code ? ` ${code}` : ""}${detail ? `: ${detail}` : ""}`);
    this.name = "S3Failure";
  }
}

/** True for failures worth another attempt: the network, 5xx, throttling. */
function retryable(err: unknown): boolean {
  if (err instanceof S3Failure) {
    return err.status >= 500 || err.status === 429 || RETRYABLE_CODES.has(err.code);
  }
  // Anything else is the network: fetch rejects with a TypeError when a connection is
  // refused or reset, and with the timeout's reason when it aborts.
  return true;
}

function credentialsFrom(options: S3DriverOptions): Credentials {
  const accessKeyId = options.accesskey || env("AWS_ACCESS_KEY_ID");
  const secretAccessKey = options.secretkey || env("AWS_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(
      "The s3 storage driver needs accesskey and secretkey (or AWS_ACCESS_KEY_ID and " +
        "AWS_SECRET_ACCESS_KEY in the environment)",
    );
  }
  const sessionToken = options.sessiontoken ||
    (options.accesskey ? undefined : env("AWS_SESSION_TOKEN"));
  return sessionToken
    ? { accessKeyId, secretAccessKey, sessionToken }
    : { accessKeyId, secretAccessKey };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: only explicit keys count
  }
}

/** URI-encodes one key segment the way S3 canonicalises it (RFC 3986 unreserved kept). */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
