/**
 * @module
 * `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>`.
 */
import { RegistryError } from "../errors.ts";
import { empty, location, readBounded } from "../http/responses.ts";
import { type Ctx, NAME, type Route, STALE } from "../http/route.ts";

/** Serves the exact stored bytes with their media type and digest. */
export async function get(ctx: Ctx): Promise<Response> {
  const { manifests } = ctx.repository;
  const accept = ctx.request.headers.get("accept");
  const reference = ctx.params.reference;
  const head = ctx.request.method === "HEAD";
  const manifest = head
    ? await manifests.stat(reference, { accept })
    : await manifests.get(reference, { accept });
  const headers: Record<string, string> = {
    "Content-Type": manifest.mediaType,
    "Content-Length": String(manifest.size),
    "Docker-Content-Digest": manifest.digest.value,
    "ETag": `"${manifest.digest.value}"`,
  };
  if (manifest.stale) headers.Warning = STALE;
  const body = "bytes" in manifest ? manifest.bytes as Uint8Array<ArrayBuffer> : null;
  return new Response(body, { status: 200, headers });
}

/** Stores a manifest under a tag or digest (plus `?tag=` tags). */
export async function put(ctx: Ctx): Promise<Response> {
  const { options } = ctx.deps;
  const bytes = await readBounded(
    ctx.request,
    options.maxManifestBytes,
    "manifest",
    "MANIFEST_INVALID",
    options.stallTimeoutMs,
  );
  const result = await ctx.repository.manifests.put(
    ctx.params.reference,
    bytes,
    ctx.request.headers.get("content-type"),
    ctx.url.searchParams.getAll("tag"),
  );
  const headers = new Headers({
    "Location": location(ctx, `/v2/${ctx.name}/manifests/${result.digest}`),
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
  await ctx.repository.manifests.delete(ctx.params.reference);
  return empty(202);
}

/** Routes of this module. */
export const routes: Route[] = [{
  name: "manifest",
  pattern: new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`),
  methods: { GET: get, PUT: put, DELETE: remove },
  access: { GET: ["pull"], HEAD: ["pull"], PUT: ["pull", "push"], DELETE: ["delete"] },
}];
