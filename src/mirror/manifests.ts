/**
 * @module
 * Manifests of a mirrored repository.
 *
 * - By digest: served from the cache when it has it, with no upstream request; otherwise
 *   fetched, checked against the digest and stored (a `HEAD` stores it too, so the `GET`
 *   that follows is local).
 * - By tag: served from the cache while the tag was checked upstream within
 *   `revalidate`; then a `HEAD` upstream with the client's `Accept` says whether it moved
 *   (same digest: the cached copy; a new one: fetched, verified, stored, tag moved; gone:
 *   the cached tag is dropped). When the upstream fails (refused, timeout, 5xx, 401, 429,
 *   a lie), a cached copy is served marked stale; without one the answer is 503.
 *
 * Indexes are stored by digest like any manifest, before their children are pulled.
 * Pushes and deletes are `UNSUPPORTED`.
 */
import { RegistryError } from "../errors.ts";
import { type Digest, parseDigest, tryParseDigest } from "../oci/digest.ts";
import { MANIFEST_TYPES, parseManifest } from "../oci/manifests/mod.ts";
import { isValidTag } from "../oci/names.ts";
import { digestBytes } from "../registry/digest_bytes.ts";
import type {
  ManifestContent,
  ManifestInfo,
  ManifestRequest,
  ManifestService,
  Page,
  PutManifestResult,
} from "../registry/repository.ts";
import {
  type MirrorContext,
  noPath,
  once,
  readOnly,
  statusFailure,
  unavailable,
} from "./context.ts";
import { UpstreamError } from "./upstream_error.ts";

/** `Accept` sent upstream when the client sent none: every format Berth stores. */
const DEFAULT_ACCEPT = [...MANIFEST_TYPES].join(", ");

/** {@linkcode ManifestService} of a mirrored repository. */
export class MirrorManifests implements ManifestService {
  constructor(private readonly ctx: MirrorContext) {}

  /** Tags of a manifest: those the cache holds. */
  tagsOf(digest: Digest, n: number): Promise<Page> {
    return this.ctx.local.manifests.tagsOf(digest, n);
  }

  stat(reference: string, request: ManifestRequest = {}): Promise<ManifestInfo> {
    return this.#serve(reference, request, false);
  }

  get(reference: string, request: ManifestRequest = {}): Promise<ManifestContent> {
    return this.#serve(reference, request, true) as Promise<ManifestContent>;
  }

  put(): Promise<PutManifestResult> {
    return Promise.reject(readOnly(this.ctx, "pushing a manifest"));
  }

  delete(): Promise<void> {
    return Promise.reject(readOnly(this.ctx, "deleting a manifest"));
  }

  async #serve(
    reference: string,
    request: ManifestRequest,
    bytes: boolean,
  ): Promise<ManifestInfo | ManifestContent> {
    const { ctx } = this;
    if (ctx.path === "") throw noPath(ctx);
    const digest = reference.includes(":") ? parseDigest(reference) : null;
    if (!digest && !isValidTag(reference)) return this.#local(reference, request, bytes);
    const key = `${ctx.name}\n${reference}`;
    const checked = ctx.checked.get(key);
    if (digest || (checked !== undefined && Date.now() - checked < ctx.mirror.config.revalidate)) {
      // Served as cached, in one lookup; only a miss looks further.
      try {
        const found = await this.#local(reference, request, bytes);
        ctx.mirror.counters.hit("manifest");
        return found;
      } catch (err) {
        const unknown = err instanceof RegistryError && err.code === "MANIFEST_UNKNOWN";
        // Cached but not what the client accepts: the answer stands.
        if (!unknown || await this.#cached(reference)) throw err;
      }
      if (digest) {
        // Concurrent misses of one digest fetch it once.
        await once(
          ctx,
          `${ctx.mirror.prefix}\nmanifest ${ctx.name}@${digest.value}`,
          () => this.#fetch(digest.value, request.accept, digest),
        );
        return this.#local(reference, request, bytes, true);
      }
    }
    const cached = await this.#cached(reference);
    let fetched: boolean;
    try {
      fetched = await once(
        ctx,
        `${ctx.mirror.prefix}\ntag ${ctx.name}:${reference}\n${request.accept ?? ""}`,
        () => this.#revalidate(reference, request.accept, cached),
      );
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (!cached) throw unavailable(ctx, err);
      ctx.mirror.counters.staleAnswer();
      ctx.logger.warn("mirror: the upstream failed; serving the cached manifest as stale", {
        repo: ctx.name,
        reference,
        error: err.message,
      });
      return { ...await this.#local(reference, request, bytes), stale: true };
    }
    ctx.checked.set(key, Date.now());
    return this.#local(reference, request, bytes, fetched);
  }

  /** The cached manifest a reference names, whatever the client accepts; null when none. */
  async #cached(reference: string): Promise<ManifestInfo | null> {
    try {
      return await this.ctx.local.manifests.stat(reference);
    } catch (err) {
      if (err instanceof RegistryError && err.code === "MANIFEST_UNKNOWN") return null;
      throw err;
    }
  }

  /** Serves from the cache (which checks `Accept`) and records the pull. */
  async #local(
    reference: string,
    request: ManifestRequest,
    bytes: boolean,
    fetched = false,
  ): Promise<ManifestInfo | ManifestContent> {
    const { ctx } = this;
    const found = bytes
      ? await ctx.local.manifests.get(reference, request)
      : await ctx.local.manifests.stat(reference, request);
    ctx.pulls.touch(ctx.name, found.digest.value, "manifest", ctx.mirror.config.ttl, fetched);
    return found;
  }

  /**
   * Asks the upstream where `tag` points now and brings the cache in line; true when
   * something was fetched. Throws {@linkcode UpstreamError} on any upstream failure.
   */
  async #revalidate(
    tag: string,
    accept: string | null | undefined,
    cached: ManifestInfo | null,
  ): Promise<boolean> {
    const { ctx } = this;
    if (!cached) {
      await this.#fetch(tag, accept, null);
      return true;
    }
    const res = await this.#request("HEAD", tag, accept);
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) {
      // The tag is gone upstream: so is the cached one.
      await ctx.local.manifests.delete(tag).catch(() => {});
      throw new RegistryError("MANIFEST_UNKNOWN", `Manifest ${tag} is unknown upstream`, {
        detail: { reference: tag },
      });
    }
    if (res.status !== 200) throw await statusFailure(res, `manifest ${tag}`);
    const current = tryParseDigest(res.headers.get("docker-content-digest") ?? "");
    if (current?.value === cached.digest.value) {
      ctx.mirror.counters.hit("manifest");
      return false;
    }
    const known = current ? await this.#cached(current.value) : null;
    if (current && known) {
      // Retagged upstream to a manifest the cache has: move the tag, fetch nothing.
      ctx.mirror.counters.hit("manifest");
      const content = await ctx.local.manifests.get(current.value);
      await ctx.local.manifests.put(tag, content.bytes, content.mediaType, [], {
        requireReferences: false,
      });
      return false;
    }
    await this.#fetch(tag, accept, current);
    return true;
  }

  /**
   * GETs `reference` upstream, checks it against `expected` (and the upstream's own
   * `Docker-Content-Digest`) and stores it under `reference`.
   */
  async #fetch(
    reference: string,
    accept: string | null | undefined,
    expected: Digest | null,
  ): Promise<void> {
    const { ctx } = this;
    ctx.mirror.counters.miss("manifest");
    // A tag's failures go back to the caller, which may serve the cached copy; a digest
    // has no other copy.
    const fail = (err: unknown) =>
      err instanceof UpstreamError && reference.includes(":") ? unavailable(ctx, err) : err;
    let res: Response;
    let body: Uint8Array;
    try {
      res = await this.#request("GET", expected?.value ?? reference, accept);
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        throw new RegistryError("MANIFEST_UNKNOWN", `Manifest ${reference} is unknown upstream`, {
          detail: { reference },
        });
      }
      if (res.status !== 200) throw await statusFailure(res, `manifest ${reference}`);
      body = await ctx.mirror.upstream.read(res, ctx.maxManifestBytes);
    } catch (err) {
      throw fail(err);
    }
    const contentType = res.headers.get("content-type");
    const claimed = expected ?? tryParseDigest(res.headers.get("docker-content-digest") ?? "");
    let digested: Uint8Array = body;
    let unparsable: RegistryError | null = null;
    try {
      digested = parseManifest(body, contentType).digested;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      unparsable = err;
    }
    const actual = digestBytes(digested, claimed?.algorithm ?? "sha256");
    if (unparsable && (!claimed || claimed.value === actual.value)) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `Manifest ${reference} of the upstream cannot be mirrored: ${unparsable.message}`,
        { detail: { reference }, cause: unparsable },
      );
    }
    if (claimed && claimed.value !== actual.value) {
      ctx.logger.warn("mirror: the upstream's manifest does not match its digest", {
        mirror: ctx.mirror.upstream.origin,
        repo: ctx.name,
        reference,
        expected: claimed.value,
        actual: actual.value,
      });
      throw fail(
        new UpstreamError(
          "invalid",
          `The upstream's manifest ${reference} has digest ${actual.value}, not ${claimed.value}`,
        ),
      );
    }
    await ctx.local.manifests.put(reference, body, contentType, [], { requireReferences: false });
  }

  #request(method: "GET" | "HEAD", reference: string, accept: string | null | undefined) {
    const { ctx } = this;
    return ctx.mirror.upstream.request(method, `${ctx.path}/manifests/${reference}`, {
      repository: ctx.path,
      accept: accept || DEFAULT_ACCEPT,
    });
  }
}
