/**
 * @module
 * `GET /v2/` (API version check) and `GET /healthz` (every backend checked).
 */
import { json } from "../http/responses.ts";
import type { Ctx, Route } from "../http/route.ts";

/** `GET /v2/`: 200 `{}` when the caller may use the API. */
export function get(_ctx: Ctx): Promise<Response> {
  return Promise.resolve(json({}));
}

/** `GET /healthz`: 503 naming the failing backend. */
export async function health(ctx: Ctx): Promise<Response> {
  const checks = await ctx.deps.registry.health();
  for (const c of checks) {
    if (!c.ok) ctx.deps.logger.warn("health check failed", { check: c.name, error: c.error });
  }
  const ok = checks.every((c) => c.ok);
  return json({ status: ok ? "ok" : "unavailable", checks }, ok ? 200 : 503);
}

/** Routes of this module. */
export const routes: Route[] = [
  { name: "base", pattern: /^\/v2\/?$/, methods: { GET: get }, access: "login" },
  { name: "healthz", pattern: /^\/healthz$/, methods: { GET: health }, access: "none" },
];
