/**
 * @module
 * The application: a middleware chain around the route handlers.
 *
 * ```
 * request id -> response headers -> [access log] -> [extra steps] -> error boundary
 *   -> router -> authorize -> handler
 * ```
 *
 * The error boundary is the only place errors become HTTP responses; steps outside it
 * (access log, metrics) see every final status. Handlers get a {@linkcode Ctx} whose
 * `repository` is the registry facade bound to the caller.
 */
import { type Authorizer, openAccess } from "./access.ts";
import { API_ROUTES } from "./api/routes.ts";
import type { Logger } from "./log.ts";
import { accessLog } from "./http/middleware/access_log.ts";
import { authorize } from "./http/middleware/authorize.ts";
import { compose, type Middleware, type RequestState } from "./http/middleware/chain.ts";
import { errorBoundary } from "./http/middleware/error_boundary.ts";
import { requestId } from "./http/middleware/request_id.ts";
import { responseHeaders } from "./http/middleware/response_headers.ts";
import { router } from "./http/middleware/route.ts";
import type { Ctx, HandlerDeps, HttpOptions, Route } from "./http/route.ts";
import type { Registry, Repository } from "./registry/repository.ts";
import type { UploadTokens } from "./upload_token.ts";

/** A `fetch`-shaped application. */
export interface App {
  fetch(request: Request, info?: { remoteAddr?: Deno.Addr }): Promise<Response>;
}

/** Dependencies of the application, passed in by `src/runtime.ts` or a test. */
export interface AppDeps {
  registry: Registry;
  tokens: UploadTokens;
  logger: Logger;
  options: HttpOptions;
  authorizer?: Authorizer;
  /** Extra routes (the token endpoint, a UI), tried before the registry API. */
  extraRoutes?: readonly Route[];
  /** Extra steps (metrics, a read-only mode), run inside the access log, outside the boundary. */
  middleware?: readonly Middleware[];
}

/** Builds the application over its dependencies. */
export function createApp(deps: AppDeps): App {
  const routes = [...(deps.extraRoutes ?? []), ...API_ROUTES];
  const handlerDeps: HandlerDeps = {
    registry: deps.registry,
    tokens: deps.tokens,
    logger: deps.logger,
    options: deps.options,
  };
  const steps: Middleware[] = [
    requestId(),
    responseHeaders(deps.options.headers),
    ...(deps.options.accessLog ?? true ? [accessLog(deps.logger)] : []),
    ...(deps.middleware ?? []),
    errorBoundary(deps.logger),
    router(routes),
    authorize(deps.authorizer ?? openAccess),
  ];
  const run = compose(steps, (state) => handle(state, handlerDeps));
  return {
    fetch(request, info) {
      const client = info?.remoteAddr && "hostname" in info.remoteAddr
        ? info.remoteAddr.hostname
        : "";
      return run({
        request,
        url: new URL(request.url),
        client,
        started: performance.now(),
        requestId: "",
        name: "",
      });
    },
  };
}

/** Calls the matched route's handler with its {@linkcode Ctx}. */
function handle(state: RequestState, deps: HandlerDeps): Promise<Response> {
  const { match, request } = state;
  const access = state.access!;
  let repository: Repository | undefined;
  const ctx: Ctx = {
    request,
    url: state.url,
    params: match!.params,
    name: state.name,
    requestId: state.requestId,
    client: state.client,
    access,
    deps,
    get repository(): Repository {
      if (!state.name) throw new Error(`Route ${match!.route.name} has no repository`);
      return repository ??= deps.registry.repository(state.name, {
        actor: access.subject,
        requestId: state.requestId,
        addr: state.client,
        userAgent: request.headers.get("user-agent") ?? "",
        method: request.method,
        host: request.headers.get("host") ?? state.url.host,
      });
    },
  };
  return match!.handler(ctx);
}
