/**
 * @module
 * What a UI handler works with: the request, its visitor, the registry facade bound to
 * that visitor, and the settings pages need (the host to put in pull commands, whether
 * deletes are on). Built once per request by `routes.ts`.
 */
import type { Throttle } from "../auth/throttle.ts";
import type { Ctx } from "../http/route.ts";
import type { Logger } from "../log.ts";
import type { Registry, Repository } from "../registry/repository.ts";
import type { Inspector } from "./inspect.ts";
import type { SummaryCache } from "./summaries.ts";
import type { UiAuth, Visitor } from "./visitor.ts";

/** What lives as long as the UI: shared by every request. */
export interface UiDeps {
  auth: UiAuth;
  /** Failed sign-ins per address. */
  throttle: Throttle;
  logger: Logger;
  summaries: SummaryCache;
  inspector: Inspector;
}

/** One request to the UI. */
export interface UiRequest {
  ctx: Ctx;
  visitor: Visitor;
  deps: UiDeps;
  registry: Registry;
  /** True when the request came over TLS (directly, or as a proxy in front says). */
  secure: boolean;
  /** `host[:port]` of the registry, as pull commands name it. */
  host: string;
  /** Whether manifests and tags may be deleted at all (`storage.delete.enabled`). */
  deleteEnabled: boolean;
  /** The facade of repository `name` for this visitor (events carry who asked). */
  repository(name: string): Repository;
}

/** Builds the {@linkcode UiRequest} of `ctx`. */
export async function uiRequest(ctx: Ctx, deps: UiDeps): Promise<UiRequest> {
  const { request, url } = ctx;
  const base = ctx.deps.options.baseUrl;
  const secure = url.protocol === "https:" ||
    request.headers.get("x-forwarded-proto") === "https" || (base?.startsWith("https:") ?? false);
  const visitor = await deps.auth.visitor(request, secure);
  const hostHeader = request.headers.get("host") ?? url.host;
  const host = base && URL.canParse(base) ? new URL(base).host : hostHeader;
  const registry = ctx.deps.registry;
  return {
    ctx,
    visitor,
    deps,
    registry,
    secure,
    host,
    deleteEnabled: ctx.deps.options.deleteEnabled,
    repository: (name) =>
      registry.repository(name, {
        actor: visitor.subject,
        requestId: ctx.requestId,
        addr: ctx.client,
        userAgent: request.headers.get("user-agent") ?? "",
        method: request.method,
        host: hostHeader,
      }),
  };
}
