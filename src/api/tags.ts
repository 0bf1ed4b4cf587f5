/**
 * @module
 * `GET /v2/<name>/tags/list[?n=&last=]`.
 */
import { json, nextLink, pagination } from "../http/responses.ts";
import { type Ctx, NAME, type Route, STALE } from "../http/route.ts";

/** Tags in lexical order, paginated with a `Link` to the next page. */
export async function list(ctx: Ctx): Promise<Response> {
  const { n, last } = pagination(ctx.url);
  const page = await ctx.repository.tags.list(n, last);
  const headers: Record<string, string> = {};
  if (page.stale) headers.Warning = STALE;
  if (page.more) {
    headers.Link = nextLink(ctx, `/v2/${ctx.name}/tags/list`, n, page.items[page.items.length - 1]);
  }
  return json({ name: ctx.name, tags: page.items }, 200, headers);
}

/** Routes of this module. */
export const routes: Route[] = [{
  name: "tags",
  pattern: new RegExp(`^/v2/${NAME}/tags/list$`),
  methods: { GET: list },
  access: { GET: ["pull"] },
}];
