/**
 * @module
 * Asks the {@linkcode Authorizer} whether the caller may do what the matched route needs
 * (repository actions per method, the catalog, a signed-in caller, or nothing for open
 * routes); the answer's {@linkcode Access} goes on to the handler for checks that depend
 * on the request (mount sources, catalog entries).
 */
import type { Access, Authorizer, Scope } from "../../access.ts";
import type { Route } from "../route.ts";
import type { Middleware } from "./chain.ts";

/** Routes open to everyone (health, the token endpoint) get no rights at all. */
const NO_ACCESS: Access = {
  subject: null,
  can: () => Promise.resolve(false),
  canListCatalog: () => Promise.resolve(false),
};

/** Scopes a route needs for `method` on repository `name`. */
export function scopesFor(route: Route, method: string, name: string): Scope[] {
  if (route.access === "none" || route.access === "login") return [];
  if (route.access === "catalog") return [{ type: "registry", name: "catalog", actions: ["*"] }];
  const actions = route.access[method] ?? route.access.GET ?? [];
  return [{ type: "repository", name, actions }];
}

/** The authorization step. */
export function authorize(authorizer: Authorizer): Middleware {
  return async (state, next) => {
    const route = state.match!.route;
    state.access = route.access === "none" ? NO_ACCESS : await authorizer.authorize(
      state.request,
      scopesFor(route, state.request.method, state.name),
      state.client,
    );
    return next();
  };
}
