/**
 * @module
 * `GET /v2/<name>/tags/list[?n=&last=]`.
 */
import type { Ctx } from "../context.ts";
import { json, nextLink, pagination } from "../http.ts";
import { listTags } from "../registry/listing.ts";

/** Tags in lexical order, paginated with a `Link` to the next page. */
export async function list(ctx: Ctx): Promise<Response> {
  const { n, last } = pagination(ctx.url);
  const page = await listTags(ctx.deps.registry.store, ctx.repo, n, last);
  const headers: Record<string, string> = {};
  if (page.more) {
    headers.Link = nextLink(ctx, `/v2/${ctx.repo}/tags/list`, n, page.items[page.items.length - 1]);
  }
  return json({ name: ctx.repo, tags: page.items }, 200, headers);
}
