/**
 * @module
 * What the services of one mirrored repository share: the repository's own services in
 * the registry below the mirror (where cached content is stored and read), its mirror
 * and name upstream, and the capability's single-flight copies, pull records and logger.
 * Also the translation of upstream failures into the errors clients see.
 */
import { RegistryError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Repository } from "../registry/repository.ts";
import type { PullTimes } from "./expiry.ts";
import type { Fills } from "./fills.ts";
import type { Mirror, MirrorSet } from "./mirrors.ts";
import { UpstreamError } from "./upstream_error.ts";

/** Shared by every mirrored repository of a registry. */
export interface MirrorDeps {
  mirrors: MirrorSet;
  fills: Fills;
  pulls: PullTimes;
  logger: Logger;
  /** Largest manifest read from an upstream (`berth.manifests.maxbytes`). */
  maxManifestBytes: number;
  /** When each tag was last checked upstream (`<repo>\n<tag>` to ms since the epoch). */
  checked: Map<string, number>;
  /** Requests in flight to the upstreams, so concurrent misses ask once. */
  inflight: Map<string, Promise<unknown>>;
  /**
   * Sizes of blobs an upstream said it has, for a short while, so requests that arrive
   * while a blob is being copied do not all ask again.
   */
  known: Map<string, { size: number; until: number }>;
}

/** One mirrored repository, for its services. */
export interface MirrorContext extends MirrorDeps {
  /** The local name (`docker.io/library/alpine`). */
  name: string;
  /** The name upstream (`library/alpine`); "" when the name is the prefix itself. */
  path: string;
  mirror: Mirror;
  /** The repository in the registry below the mirror (the cache). */
  local: Repository;
}

/** Seconds a client is asked to wait when an upstream failed. */
const RETRY_SECONDS = 5;

/** The error a client sees when the upstream failed and there is no cached copy. */
export function unavailable(ctx: MirrorContext, err: UpstreamError): RegistryError {
  return new RegistryError(
    "UNAVAILABLE",
    `The upstream of ${ctx.name} (${ctx.mirror.upstream.origin}) failed and nothing is ` +
      `cached: ${err.message}`,
    { retryAfter: err.retryAfter ?? RETRY_SECONDS, cause: err },
  );
}

/** An upstream answer that is neither the content nor "not found", as a failure. */
export async function statusFailure(res: Response, what: string): Promise<UpstreamError> {
  await res.body?.cancel().catch(() => {});
  const retry = Number(res.headers.get("retry-after"));
  return new UpstreamError("status", `The upstream answered ${res.status} for ${what}`, {
    status: res.status,
    retryAfter: Number.isFinite(retry) && retry > 0 ? Math.min(retry, 600) : undefined,
  });
}

/** `UNSUPPORTED` for a change to a mirrored repository. */
export function readOnly(ctx: MirrorContext, what: string): RegistryError {
  return new RegistryError(
    "UNSUPPORTED",
    `${ctx.name} mirrors ${ctx.mirror.upstream.origin}: ${what} is not supported`,
    { detail: { repository: ctx.name, upstream: ctx.mirror.upstream.origin } },
  );
}

/** `NAME_UNKNOWN` for the prefix itself, which names nothing upstream. */
export function noPath(ctx: MirrorContext): RegistryError {
  return new RegistryError(
    "NAME_UNKNOWN",
    `${ctx.name} is the prefix of a mirror, not a repository; pull ${ctx.name}/<name>`,
    { detail: { name: ctx.name } },
  );
}

/** Runs `work` once for concurrent callers asking the same `key`. */
export function once<T>(ctx: MirrorDeps, key: string, work: () => Promise<T>): Promise<T> {
  const running = ctx.inflight.get(key);
  if (running) return running as Promise<T>;
  const started = work().finally(() => ctx.inflight.delete(key));
  ctx.inflight.set(key, started);
  return started;
}
