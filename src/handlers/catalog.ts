/**
 * @module
 * `GET /v2/_catalog[?n=&last=]`.
 */
import type { Ctx } from "../context.ts";
import { json, nextLink, pagination } from "../http.ts";
import { listRepositories } from "../registry/listing.ts";

/** Repository names the caller may see, lexical order, paginated. */
export async function list(ctx: Ctx): Promise<Response> {
  const { n, last } = pagination(ctx.url);
  const page = await listRepositories(
    ctx.deps.registry.store,
    n,
    last,
    (repo) => ctx.access.can(repo, "pull"),
  );
  const headers: Record<string, string> = {};
  if (page.more) {
    headers.Link = nextLink(ctx, "/v2/_catalog", n, page.items[page.items.length - 1]);
  }
  return json({ repositories: page.items }, 200, headers);
}
