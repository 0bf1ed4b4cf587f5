/**
 * @module
 * Blobs of a mirrored repository. A blob the cache has is served from it, with no
 * upstream request. A missing one is looked up upstream with a `HEAD` (its size, and
 * whether the upstream has it at all); when the same mirror already stored the bytes for
 * another repository they are linked, otherwise a `GET` streams them to the client while
 * they are stored (`fills.ts`: once for all concurrent requests of the fleet). Deletes and
 * mounts are `UNSUPPORTED`.
 */
import type { ByteRange } from "../../drivers/blob/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { BlobInfo, BlobService } from "../registry/repository.ts";
import {
  type MirrorContext,
  noPath,
  once,
  readOnly,
  statusFailure,
  unavailable,
} from "./context.ts";
import type { FillRequest } from "./fills.ts";
import { UpstreamError } from "./upstream_error.ts";

/** How long an upstream's answer to a blob HEAD is taken as still true. */
const KNOWN_MS = 30_000;
/** Answers remembered before the memory starts over. */
const MAX_KNOWN = 10_000;

/** {@linkcode BlobService} of a mirrored repository. */
export class MirrorBlobs implements BlobService {
  /** Blobs found upstream and not stored here (yet): `open` copies them. */
  readonly #remote = new WeakSet<BlobInfo>();

  constructor(private readonly ctx: MirrorContext) {}

  async stat(digest: Digest, options: { verify?: boolean } = {}): Promise<BlobInfo | null> {
    const local = await this.ctx.local.blobs.stat(digest, options);
    if (local) return local;
    if (this.ctx.path === "") throw noPath(this.ctx);
    const found = await this.#upstream(digest);
    if (!found) return null;
    // The same mirror may hold the bytes for another of its repositories: link them.
    if (await this.#linkShared(digest)) {
      const linked = await this.ctx.local.blobs.stat(digest, options);
      if (linked) return linked;
    }
    const info: BlobInfo = { digest, size: found.size };
    this.#remote.add(info);
    return info;
  }

  async require(digest: Digest, options: { verify?: boolean } = {}): Promise<BlobInfo> {
    const info = await this.stat(digest, options);
    if (info) return info;
    throw new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown to ${this.ctx.name}`, {
      detail: { digest: digest.value },
    });
  }

  async open(blob: BlobInfo, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const { ctx } = this;
    if (!this.#remote.has(blob)) {
      try {
        const stream = await ctx.local.blobs.open(blob, range);
        this.#pulled(blob.digest, false);
        ctx.mirror.counters.hit("blob");
        return stream;
      } catch (err) {
        // Cached bytes that are lost or cut short are fetched again (and repaired).
        if (!(err instanceof RegistryError && err.code === "BLOB_UNKNOWN")) throw err;
        if (ctx.path === "") throw err;
      }
    }
    ctx.mirror.counters.miss("blob");
    return await ctx.fills.open(this.#fillRequest(blob), range);
  }

  async redirectUrl(blob: BlobInfo, ttlSeconds: number): Promise<string | null> {
    if (this.#remote.has(blob)) return null;
    const url = await this.ctx.local.blobs.redirectUrl(blob, ttlSeconds);
    if (url) {
      this.#pulled(blob.digest, false);
      this.ctx.mirror.counters.hit("blob");
    }
    return url;
  }

  delete(_digest: Digest): Promise<void> {
    return Promise.reject(readOnly(this.ctx, "deleting a blob"));
  }

  mount(): Promise<BlobInfo | null> {
    return Promise.reject(readOnly(this.ctx, "mounting a blob"));
  }

  /** What the upstream says of `digest`: its size, or null when it does not have it. */
  #upstream(digest: Digest): Promise<{ size: number } | null> {
    const { ctx } = this;
    const path = `${ctx.path}/blobs/${digest.value}`;
    const key = `${ctx.mirror.prefix}\nHEAD ${path}`;
    const known = ctx.known.get(key);
    if (known && known.until > Date.now()) return Promise.resolve({ size: known.size });
    return once(ctx, key, async () => {
      let res: Response;
      try {
        res = await ctx.mirror.upstream.request("HEAD", path, { repository: ctx.path });
      } catch (err) {
        if (err instanceof UpstreamError) throw unavailable(ctx, err);
        throw err;
      }
      await res.body?.cancel().catch(() => {});
      if (res.status === 404) return null;
      if (res.status !== 200) {
        throw unavailable(ctx, await statusFailure(res, `blob ${digest.value}`));
      }
      const size = Number(res.headers.get("content-length") ?? NaN);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw unavailable(
          ctx,
          new UpstreamError("invalid", `The upstream did not say the size of ${digest.value}`),
        );
      }
      if (ctx.known.size >= MAX_KNOWN) ctx.known.clear();
      ctx.known.set(key, { size, until: Date.now() + KNOWN_MS });
      return { size };
    });
  }

  /** Links bytes the same mirror stored for another repository; false when there are none. */
  async #linkShared(digest: Digest): Promise<boolean> {
    const { ctx } = this;
    const sameMirror = (repo: string) =>
      Promise.resolve(ctx.mirrors.forRepository(repo)?.mirror === ctx.mirror);
    const linked = await ctx.local.blobs.mount(digest, null, sameMirror);
    if (linked) this.#pulled(digest, true);
    return linked !== null;
  }

  #pulled(digest: Digest, force: boolean): void {
    const { ctx } = this;
    ctx.pulls.touch(ctx.name, digest.value, "blob", ctx.mirror.config.ttl, force);
  }

  /** How a missing blob is copied, stored and read back. */
  #fillRequest(blob: BlobInfo): FillRequest {
    const { ctx } = this;
    const { digest, size } = blob;
    const linked = async () =>
      (await ctx.local.blobs.stat(digest)) !== null || await this.#linkShared(digest);
    return {
      mirror: ctx.mirror.prefix,
      repository: ctx.name,
      digest: digest.value,
      blob: digest,
      size,
      linked,
      fetch: async () => {
        const path = `${ctx.path}/blobs/${digest.value}`;
        let res: Response;
        try {
          res = await ctx.mirror.upstream.request("GET", path, { repository: ctx.path });
        } catch (err) {
          if (err instanceof UpstreamError) throw unavailable(ctx, err);
          throw err;
        }
        if (res.status === 404) {
          await res.body?.cancel().catch(() => {});
          throw new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown upstream`, {
            detail: { digest: digest.value },
          });
        }
        if (res.status !== 200) throw unavailable(ctx, await statusFailure(res, digest.value));
        const announced = Number(res.headers.get("content-length") ?? NaN);
        if (Number.isFinite(announced) && announced !== size) {
          await res.body?.cancel().catch(() => {});
          throw unavailable(
            ctx,
            new UpstreamError(
              "invalid",
              `The upstream sends ${announced} bytes of ${digest.value}, whose size is ${size}`,
            ),
          );
        }
        return ctx.mirror.upstream.stream(res);
      },
      store: async (body, verified) => {
        try {
          await ctx.local.uploads.monolithic(digest, body, { verified });
        } catch (err) {
          if (err instanceof RegistryError && err.code === "DIGEST_INVALID") {
            ctx.logger.warn("mirror: the upstream's bytes do not match their digest", {
              mirror: ctx.mirror.upstream.origin,
              repo: ctx.name,
              digest: digest.value,
              error: err.message,
            });
          }
          throw err;
        }
      },
      stored: async () => {
        if (await linked()) this.#pulled(digest, true);
      },
      openStored: async (range) => {
        // A reader may get here before `stored` linked its repository.
        await linked();
        const stored = await ctx.local.blobs.require(digest, { verify: false });
        return await ctx.local.blobs.open(stored, range);
      },
    };
  }
}
