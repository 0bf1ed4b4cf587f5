/**
 * @module
 * Listings of a mirrored repository. Tags come from the upstream (its pages, passed
 * through), and from the cache, marked stale, when the upstream fails. Referrers come
 * from the upstream when it has the referrers API, and from the cache otherwise.
 */
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifests/mod.ts";
import type { Page, ReferrerService, TagService, TagTimePage } from "../registry/repository.ts";
import { type MirrorContext, noPath, statusFailure, unavailable } from "./context.ts";
import { UpstreamError } from "./upstream_error.ts";

/** Largest tag list or referrers index read from an upstream. */
const MAX_LISTING_BYTES = 16 * 1024 * 1024;

/** {@linkcode TagService} of a mirrored repository. */
export class MirrorTags implements TagService {
  constructor(private readonly ctx: MirrorContext) {}

  async list(n: number | null, last: string | null): Promise<Page> {
    const { ctx } = this;
    if (ctx.path === "") throw noPath(ctx);
    if (n === 0) return { items: [], more: false };
    const query = new URLSearchParams();
    if (n !== null) query.set("n", String(n));
    if (last !== null) query.set("last", last);
    const path = `${ctx.path}/tags/list${query.size ? `?${query}` : ""}`;
    try {
      const res = await ctx.mirror.upstream.request("GET", path, { repository: ctx.path });
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        throw new RegistryError("NAME_UNKNOWN", `Repository ${ctx.name} is unknown upstream`, {
          detail: { name: ctx.name },
        });
      }
      if (res.status !== 200) throw await statusFailure(res, `the tags of ${ctx.path}`);
      const body = await ctx.mirror.upstream.readJson<{ tags?: unknown }>(res, MAX_LISTING_BYTES);
      const tags = Array.isArray(body.tags) ? body.tags.filter((t) => typeof t === "string") : [];
      const more = /rel="?next"?/.test(res.headers.get("link") ?? "");
      const items = n !== null && tags.length > n ? tags.slice(0, n) : tags;
      return { items, more: more || items.length < tags.length };
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      ctx.mirror.counters.staleAnswer();
      try {
        return { ...await ctx.local.tags.list(n, last), stale: true };
      } catch (local) {
        if (local instanceof RegistryError && local.code === "NAME_UNKNOWN") {
          throw unavailable(ctx, err);
        }
        throw local;
      }
    }
  }

  /** Tags newest first: those the cache holds (when they were pulled through). */
  recent(n: number, cursor: string | null): Promise<TagTimePage> {
    return this.ctx.local.tags.recent(n, cursor);
  }
}

/** {@linkcode ReferrerService} of a mirrored repository. */
export class MirrorReferrers implements ReferrerService {
  constructor(private readonly ctx: MirrorContext) {}

  async list(subject: Digest, artifactType: string | null): Promise<Descriptor[]> {
    const { ctx } = this;
    if (ctx.path === "") throw noPath(ctx);
    const query = artifactType === null ? "" : `?${new URLSearchParams({ artifactType })}`;
    try {
      const res = await ctx.mirror.upstream.request(
        "GET",
        `${ctx.path}/referrers/${subject.value}${query}`,
        { repository: ctx.path, accept: "application/vnd.oci.image.index.v1+json" },
      );
      if (res.status === 200) {
        const index = await ctx.mirror.upstream.readJson<{ manifests?: unknown }>(
          res,
          MAX_LISTING_BYTES,
        );
        const all = Array.isArray(index.manifests) ? index.manifests as Descriptor[] : [];
        const filtered = res.headers.get("oci-filters-applied")?.includes("artifactType");
        return artifactType === null || filtered
          ? all
          : all.filter((d) => d.artifactType === artifactType);
      }
      // 404: the upstream has no referrers API; what the cache knows is all there is.
      await res.body?.cancel().catch(() => {});
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
    }
    return await ctx.local.referrers.list(subject, artifactType);
  }
}
