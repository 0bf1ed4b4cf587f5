/**
 * @module
 * `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`.
 */
import { RegistryError } from "../errors.ts";
import { empty } from "../http/responses.ts";
import { type Ctx, NAME, type Route } from "../http/route.ts";
import { parseDigest } from "../oci/digest.ts";
import { resolveRange } from "../oci/range.ts";

/** How long a redirect's signed URL stays valid. */
const REDIRECT_TTL_SECONDS = 20 * 60;

/** Streams a blob (or one range of it); HEAD gets the same headers without a body. */
export async function get(ctx: Ctx): Promise<Response> {
  const digest = parseDigest(ctx.params.digest);
  const { blobs } = ctx.repository;
  const head = ctx.request.method === "HEAD";
  // A GET reads the bytes right away, and that read checks their size: no stat first.
  const info = await blobs.require(digest, { verify: head });
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest.value,
    "ETag": `"${digest.value}"`,
    "Accept-Ranges": "bytes",
    "Cache-Control": "max-age=31536000",
  };
  const range = resolveRange(ctx.request.headers.get("range"), info.size);
  if (range.kind === "unsatisfiable") {
    throw new RegistryError("RANGE_INVALID", `Range is outside a blob of ${info.size} bytes`, {
      blobSize: info.size,
    });
  }
  if (!head && ctx.deps.options.redirect && info.size > 0) {
    // The client fetches the bytes (and any Range) from the storage backend itself.
    const url = await blobs.redirectUrl(info, REDIRECT_TTL_SECONDS);
    if (url) return empty(307, { Location: url, "Docker-Content-Digest": digest.value });
  }
  if (range.kind === "partial") {
    const { start, end } = range.range;
    headers["Content-Range"] = `bytes ${start}-${end}/${info.size}`;
    headers["Content-Length"] = String(end - start + 1);
    const body = head ? null : await blobs.open(info, { start, end });
    return new Response(body, { status: 206, headers });
  }
  headers["Content-Length"] = String(info.size);
  const body = head || info.size === 0 ? null : await blobs.open(info);
  return new Response(body, { status: 200, headers });
}

/** Removes the repository's link to a blob (bytes go at garbage collection). */
export async function remove(ctx: Ctx): Promise<Response> {
  if (!ctx.deps.options.deleteEnabled) {
    throw new RegistryError("UNSUPPORTED", "Deletion is disabled on this registry");
  }
  const digest = parseDigest(ctx.params.digest);
  await ctx.repository.blobs.delete(digest);
  return empty(202, { "Docker-Content-Digest": digest.value });
}

/** Routes of this module (after the upload routes, whose paths also start `/blobs/`). */
export const routes: Route[] = [{
  name: "blob",
  pattern: new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`),
  methods: { GET: get, DELETE: remove },
  access: { GET: ["pull"], HEAD: ["pull"], DELETE: ["delete"] },
}];
