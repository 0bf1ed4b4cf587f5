/**
 * @module
 * `GET /v2/_catalog[?n=&last=]`.
 */
import { json, nextLink, pagination } from "../http/responses.ts";
import type { Ctx, Route } from "../http/route.ts";

/** Repository names the caller may see, lexical order, paginated. */
export async function list(ctx: Ctx): Promise<Response> {
  const { n, last } = pagination(ctx.url);
  const page = await ctx.deps.registry.catalog(n, last, (repo) => ctx.access.can(repo, "pull"));
  const headers: Record<string, string> = {};
  if (page.more) {
    headers.Link = nextLink(ctx, "/v2/_catalog", n, page.items[page.items.length - 1]);
  }
  return json({ repositories: page.items }, 200, headers);
}

/** Routes of this module. */
export const routes: Route[] = [
  { name: "catalog", pattern: /^\/v2\/_catalog$/, methods: { GET: list }, access: "catalog" },
];
