/**
 * @module
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]`.
 */
import { json } from "../http/responses.ts";
import { type Ctx, NAME, type Route } from "../http/route.ts";
import { parseDigest } from "../oci/digest.ts";
import { OCI_INDEX } from "../oci/media_types.ts";

/** Always 200 with an OCI image index, for known and unknown subjects alike. */
export async function list(ctx: Ctx): Promise<Response> {
  const subject = parseDigest(ctx.params.digest);
  const artifactType = ctx.url.searchParams.get("artifactType");
  const manifests = await ctx.repository.referrers.list(subject, artifactType);
  const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
  if (artifactType !== null) headers["OCI-Filters-Applied"] = "artifactType";
  return json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }, 200, headers);
}

/** Routes of this module. */
export const routes: Route[] = [{
  name: "referrers",
  pattern: new RegExp(`^/v2/${NAME}/referrers/(?<digest>[^/]+)$`),
  methods: { GET: list },
  access: { GET: ["pull"] },
}];
