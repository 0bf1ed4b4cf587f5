/**
 * @module
 * Matching a request against the route table: the first route whose pattern matches the
 * path decides; a route without the request's method is a 405 with `Allow`, no route at
 * all a 404. Path parameters are percent-decoded here.
 */
import type { Handler, Route } from "./route.ts";

/** The result of matching a request against the table. */
export type Match =
  | { kind: "found"; route: Route; handler: Handler; params: Record<string, string> }
  | { kind: "method-not-allowed"; route: Route; allowed: string[] }
  | { kind: "not-found" };

/** Finds the route and handler for `method` and `path`. */
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
