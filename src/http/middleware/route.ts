/**
 * @module
 * Finds the route of a request (`router.ts`): no route is a 404, a route without the
 * method a 405 with `Allow`; a repository route's name is validated here, once.
 */
import { assertName } from "../../oci/names.ts";
import { HttpError } from "../http_error.ts";
import type { Route } from "../route.ts";
import { match } from "../router.ts";
import type { Middleware } from "./chain.ts";

/** The routing step over `routes` (first match wins). */
export function router(routes: readonly Route[]): Middleware {
  return (state, next) => {
    const found = match(routes, state.request.method, state.url.pathname);
    if (found.kind === "not-found") {
      throw new HttpError("UNSUPPORTED", `No API endpoint at ${state.url.pathname}`, {
        status: 404,
      });
    }
    if (found.kind === "method-not-allowed") {
      throw new HttpError(
        "UNSUPPORTED",
        `${state.request.method} is not supported on ${found.route.name}`,
        { headers: { Allow: found.allowed.join(", ") } },
      );
    }
    state.match = found;
    if (found.params.name !== undefined) state.name = assertName(found.params.name);
    return next();
  };
}
