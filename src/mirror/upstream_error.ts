/**
 * @module
 * How talking to an upstream registry failed: it could not be reached, it took too long,
 * it answered with a status that is not the content (5xx, 401, 429 ...), or it sent
 * something that is not what was asked for (a digest mismatch, a body too large). The
 * mirror answers every one of them the same way: the cached copy marked stale when it
 * has one, `UNAVAILABLE` otherwise.
 */

/** What went wrong with the upstream. */
export type UpstreamFailure = "unreachable" | "timeout" | "status" | "invalid";

/** A failure of the upstream (never of the client's request). */
export class UpstreamError extends Error {
  readonly kind: UpstreamFailure;
  /** The upstream's status, for `status` failures. */
  readonly status?: number;
  /** Seconds the upstream asked to wait (429, 503 with `Retry-After`). */
  readonly retryAfter?: number;

  constructor(
    kind: UpstreamFailure,
    message: string,
    options: { status?: number; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "UpstreamError";
    this.kind = kind;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}
