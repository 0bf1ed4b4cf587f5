/**
 * @module
 * `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.
 */
import type { Ctx } from "../context.ts";
import { RegistryError } from "../errors.ts";
import { empty, location, readBounded } from "../http.ts";
import { acceptsManifest } from "../oci/manifest.ts";

/** Serves the exact stored bytes with their media type and digest. */
export async function get(ctx: Ctx): Promise<Response> {
  const { manifests } = ctx.deps.registry;
  const manifest = await manifests.resolve(ctx.repo, ctx.params.reference);
  if (!acceptsManifest(ctx.request.headers.get("accept"), manifest.mediaType)) {
    throw new RegistryError(
      "MANIFEST_UNKNOWN",
      `Manifest ${ctx.params.reference} is ${manifest.mediaType}, which the Accept header does not list`,
      { detail: { mediaType: manifest.mediaType } },
    );
  }
  const headers = {
    "Content-Type": manifest.mediaType,
    "Content-Length": String(manifest.size),
    "Docker-Content-Digest": manifest.digest.value,
    "ETag": `"${manifest.digest.value}"`,
  };
  const body = ctx.request.method === "HEAD" ? null : await manifests.bytes(manifest);
  return new Response(body as Uint8Array<ArrayBuffer> | null, { status: 200, headers });
}

/** Stores a manifest under a tag or digest (plus `?tag=` tags). */
export async function put(ctx: Ctx): Promise<Response> {
  const bytes = await readBounded(ctx.request, ctx.deps.options.maxManifestBytes, "manifest");
  const result = await ctx.deps.registry.manifests.put(
    ctx.repo,
    ctx.params.reference,
    bytes,
    ctx.request.headers.get("content-type"),
    ctx.url.searchParams.getAll("tag"),
  );
  const headers = new Headers({
    "Location": location(ctx, `/v2/${ctx.repo}/manifests/${result.digest}`),
    "Docker-Content-Digest": result.digest,
  });
  if (result.subject) headers.set("OCI-Subject", result.subject);
  for (const tag of ctx.url.searchParams.has("tag") ? result.tags : []) {
    headers.append("OCI-Tag", tag);
  }
  return empty(201, headers);
}

/** Deletes a manifest by digest (with its tags) or a tag alone. */
export async function remove(ctx: Ctx): Promise<Response> {
  if (!ctx.deps.options.deleteEnabled) {
    throw new RegistryError("UNSUPPORTED", "Deletion is disabled on this registry");
  }
  await ctx.deps.registry.manifests.delete(ctx.repo, ctx.params.reference);
  return empty(202);
}
