/**
 * @module
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]`.
 */
import type { Ctx } from "../context.ts";
import { json } from "../http.ts";
import { parseDigest } from "../oci/digest.ts";
import { OCI_INDEX } from "../oci/media_types.ts";

/** Always 200 with an OCI image index, for known and unknown subjects alike. */
export async function list(ctx: Ctx): Promise<Response> {
  const subject = parseDigest(ctx.params.digest);
  const artifactType = ctx.url.searchParams.get("artifactType");
  const manifests = await ctx.deps.registry.manifests.referrers(ctx.repo, subject, artifactType);
  const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
  if (artifactType !== null) headers["OCI-Filters-Applied"] = "artifactType";
  return json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, 200, headers);
}
