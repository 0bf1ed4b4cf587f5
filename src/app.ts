/**
 * @module
 * The application: request ids, access checks, routing, one structured log line per
 * request, and the error boundary, the only place errors become HTTP responses.
 */
import { DriverRangeError, DriverUnavailableError } from "../drivers/blob/types.ts";
import { type Access, openAccess, type Scope } from "./access.ts";
import type { AppDeps } from "./context.ts";
import { RegistryError } from "./errors.ts";
import { assertName } from "./oci/names.ts";
import { match, type Route, ROUTES } from "./routes.ts";

/** A `fetch`-shaped application. */
export interface App {
  fetch(request: Request, info?: { remoteAddr?: Deno.Addr }): Promise<Response>;
}

const API_VERSION = "registry/2.0";
/** Routes open to everyone (health, token endpoint) get no rights at all. */
const NO_ACCESS: Access = {
  subject: null,
  can: () => Promise.resolve(false),
  canListCatalog: () => Promise.resolve(false),
};
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the application over its dependencies. */
export function createApp(deps: AppDeps): App {
  const routes = [...(deps.extraRoutes ?? []), ...ROUTES];
  const authorizer = deps.authorizer ?? openAccess;
  const extraHeaders = Object.entries(deps.options.headers ?? {});
  const accessLog = deps.options.accessLog ?? true;

  async function dispatch(request: Request, url: URL, ctx: RequestNotes, client: string) {
    const found = match(routes, request.method, url.pathname);
    if (found.kind === "not-found") {
      throw new RegistryError("UNSUPPORTED", `No API endpoint at ${url.pathname}`, {
        status: 404,
      });
    }
    ctx.route = found.route.name;
    if (found.kind === "method-not-allowed") {
      throw new RegistryError(
        "UNSUPPORTED",
        `${request.method} is not supported on ${found.route.name}`,
        { headers: { Allow: found.allowed.join(", ") } },
      );
    }
    const repo = found.params.name === undefined ? "" : assertName(found.params.name);
    ctx.repo = repo;
    const access = found.route.access === "none"
      ? NO_ACCESS
      : await authorizer.authorize(request, scopesFor(found.route, request.method, repo), client);
    return found.handler({
      request,
      url,
      params: found.params,
      repo,
      requestId: ctx.requestId,
      client,
      access,
      deps,
    });
  }

  return {
    async fetch(request, info) {
      const started = performance.now();
      const given = request.headers.get("x-request-id");
      const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
      const url = new URL(request.url);
      const client = info?.remoteAddr && "hostname" in info.remoteAddr
        ? info.remoteAddr.hostname
        : "";
      const ctx: RequestNotes = { requestId };
      let response: Response;
      try {
        response = await dispatch(request, url, ctx, client);
      } catch (err) {
        response = renderError(err, request, deps, requestId);
      }
      const headers = response.headers;
      headers.set("Docker-Distribution-API-Version", API_VERSION);
      headers.set("X-Request-Id", requestId);
      for (const [name, values] of extraHeaders) headers.set(name, values.join(", "));
      if (request.method === "HEAD" && response.body) {
        response.body.cancel().catch(() => {});
        response = new Response(null, { status: response.status, headers });
      }
      if (accessLog) {
        deps.logger.info("request", {
          method: request.method,
          route: ctx.route ?? "none",
          repo: ctx.repo || undefined,
          status: response.status,
          bytes: Number(headers.get("content-length") ?? 0),
          ms: Math.round((performance.now() - started) * 10) / 10,
          request_id: requestId,
          client: client || undefined,
        });
      }
      return response;
    },
  };
}

/** What the log line learns about a request while it is dispatched. */
interface RequestNotes {
  requestId: string;
  route?: string;
  repo?: string;
}

/** Scopes a route needs for `method` on `repo`. */
function scopesFor(route: Route, method: string, repo: string): Scope[] {
  if (route.access === "none" || route.access === "login") return [];
  if (route.access === "catalog") return [{ type: "registry", name: "catalog", actions: ["*"] }];
  const actions = route.access[method] ?? route.access.GET ?? [];
  return [{ type: "repository", name: repo, actions }];
}

/** Turns any failure into an OCI error response; unknown failures are logged as 500s. */
function renderError(err: unknown, request: Request, deps: AppDeps, requestId: string): Response {
  let error: RegistryError;
  if (err instanceof RegistryError) {
    error = err;
  } else if (err instanceof DriverUnavailableError) {
    error = new RegistryError("UNAVAILABLE", "Storage is unavailable; try again", {
      headers: { "Retry-After": "5" },
    });
    deps.logger.warn("storage unavailable", { request_id: requestId, error: err });
  } else if (err instanceof DriverRangeError) {
    error = new RegistryError("RANGE_INVALID", err.message, {
      headers: { "Content-Range": `bytes */${err.size}` },
    });
  } else if (isClientAbort(err)) {
    // The client went away mid-body; nothing was published. 400 is for the log only.
    error = new RegistryError("BLOB_UPLOAD_INVALID", "The request body ended early");
  } else {
    deps.logger.error("unexpected error", { request_id: requestId, error: err });
    error = new RegistryError("UNKNOWN", `Internal error; request id ${requestId}`);
  }
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/json");
  const body = request.method === "HEAD" ? null : error.toBody();
  if (body) headers.set("Content-Length", String(new TextEncoder().encode(body).byteLength));
  return new Response(body, { status: error.status, headers });
}

/** Errors Deno raises when a request body is cut off by the client. */
function isClientAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "BadResource" || err.name === "Http" || err.name === "Interrupted" ||
    /connection (closed|reset)|body (read|stream)|unexpected eof/i.test(err.message);
}
