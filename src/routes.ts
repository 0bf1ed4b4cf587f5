/**
 * @module
 * The route table: name, methods, path pattern, the access each method needs, and the
 * handler. 404 (no route) versus 405 (route without that method) is decided here.
 *
 * Repository names contain slashes, so patterns anchor on the fixed tail of the path
 * (`/blobs/<digest>`, `/manifests/<reference>` ...) and take the rest as the name.
 */
import type { Action } from "./access.ts";
import type { Ctx } from "./context.ts";
import * as base from "./handlers/base.ts";
import * as blobs from "./handlers/blobs.ts";
import * as catalog from "./handlers/catalog.ts";
import * as manifests from "./handlers/manifests.ts";
import * as referrers from "./handlers/referrers.ts";
import * as tags from "./handlers/tags.ts";
import * as uploads from "./handlers/uploads.ts";

/** A request handler. */
export type Handler = (ctx: Ctx) => Promise<Response>;

/** One entry of the route table. */
export interface Route {
  /** Stable name for logs and metrics. */
  name: string;
  pattern: RegExp;
  /** Method to handler; HEAD falls back to GET's handler when absent. */
  methods: Partial<Record<string, Handler>>;
  /**
   * What the route needs: repository actions per method (checked on the `name`
   * parameter), `catalog` for the catalog, `none` for unauthenticated routes, or
   * `login` for routes that only need a signed-in caller (`GET /v2/`).
   */
  access: "none" | "login" | "catalog" | Partial<Record<string, Action[]>>;
}

const NAME = "(?<name>[^?#]+?)";

/** The registry API, first match wins. */
export const ROUTES: Route[] = [
  {
    name: "base",
    pattern: /^\/v2\/?$/,
    methods: { GET: base.get },
    access: "login",
  },
  {
    name: "catalog",
    pattern: /^\/v2\/_catalog$/,
    methods: { GET: catalog.list },
    access: "catalog",
  },
  {
    name: "tags",
    pattern: new RegExp(`^/v2/${NAME}/tags/list$`),
    methods: { GET: tags.list },
    access: { GET: ["pull"] },
  },
  {
    name: "manifest",
    pattern: new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`),
    methods: { GET: manifests.get, PUT: manifests.put, DELETE: manifests.remove },
    access: { GET: ["pull"], HEAD: ["pull"], PUT: ["pull", "push"], DELETE: ["delete"] },
  },
  {
    name: "upload",
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/?$`),
    methods: { POST: uploads.start },
    access: { POST: ["pull", "push"] },
  },
  {
    name: "upload-session",
    pattern: new RegExp(`^/v2/${NAME}/blobs/uploads/(?<uuid>[^/]+)$`),
    methods: {
      GET: uploads.status,
      PATCH: uploads.patch,
      PUT: uploads.finish,
      DELETE: uploads.cancel,
    },
    access: { GET: ["pull"], PATCH: ["pull", "push"], PUT: ["pull", "push"], DELETE: ["push"] },
  },
  {
    name: "blob",
    pattern: new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`),
    methods: { GET: blobs.get, DELETE: blobs.remove },
    access: { GET: ["pull"], HEAD: ["pull"], DELETE: ["delete"] },
  },
  {
    name: "referrers",
    pattern: new RegExp(`^/v2/${NAME}/referrers/(?<digest>[^/]+)$`),
    methods: { GET: referrers.list },
    access: { GET: ["pull"] },
  },
  {
    name: "healthz",
    pattern: /^\/healthz$/,
    methods: { GET: base.health },
    access: "none",
  },
];

/** The result of matching a request against the table. */
export type Match =
  | { kind: "found"; route: Route; handler: Handler; params: Record<string, string> }
  | { kind: "method-not-allowed"; route: Route; allowed: string[] }
  | { kind: "not-found" };

/** Finds the route and handler for `method` and `path` (percent-decoding parameters). */
export function match(routes: readonly Route[], method: string, path: string): Match {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    const handler = route.methods[method] ?? (method === "HEAD" ? route.methods.GET : undefined);
    if (!handler) {
      const allowed = Object.keys(route.methods);
      if (route.methods.GET) allowed.push("HEAD");
      return { kind: "method-not-allowed", route, allowed };
    }
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      try {
        params[k] = decodeURIComponent(v);
      } catch {
        params[k] = v; // malformed escapes fail validation later with a clear error
      }
    }
    return { kind: "found", route, handler, params };
  }
  return { kind: "not-found" };
}
