/**
 * @module
 * `GET /v2/` (API version check) and `GET /healthz` (driver health).
 */
import type { Ctx } from "../context.ts";
import { json } from "../http.ts";

/** `GET /v2/`: 200 `{}` when the caller may use the API. */
export function get(_ctx: Ctx): Promise<Response> {
  return Promise.resolve(json({}));
}

/** `GET /healthz`: checks both drivers; 503 naming the failing one. */
export async function health(ctx: Ctx): Promise<Response> {
  const { driver, store } = ctx.deps.registry;
  const check = async (name: string, probe: () => Promise<void>) => {
    try {
      await probe();
      return { name, ok: true };
    } catch (err) {
      ctx.deps.logger.warn("health check failed", { driver: name, error: err });
      return { name, ok: false, error: (err as Error).message };
    }
  };
  const results = await Promise.all([
    check(`blobs:${driver.name}`, () => driver.health()),
    check(`metadata:${store.name}`, () => store.health()),
  ]);
  const ok = results.every((r) => r.ok);
  return json(
    { status: ok ? "ok" : "unavailable", instance: ctx.deps.instanceId, checks: results },
    ok ? 200 : 503,
  );
}
