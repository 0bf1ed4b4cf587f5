/**
 * @module
 * distribution's debug server (`http.debug.addr`): what operators and monitors read and
 * clients never see: `/debug/health` and the Prometheus metrics, from the capabilities'
 * debug routes. It stays up while the public listener drains, so the last scrapes and
 * health checks see the drain.
 */
import type { DebugRoute } from "../capability.ts";
import type { DebugConfig } from "../config/mod.ts";

/** A running debug server. */
export interface DebugServer {
  readonly addr: Deno.NetAddr;
  shutdown(): Promise<void>;
}

/** Serves `routes` (GET and HEAD, exact paths) on the configured address. */
export function startDebugServer(config: DebugConfig, routes: readonly DebugRoute[]): DebugServer {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  const server = Deno.serve({
    hostname: config.hostname,
    port: config.port,
    onListen: () => {},
  }, async (request) => {
    const route = byPath.get(new URL(request.url).pathname);
    if (!route) return new Response("404 page not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    const response = await route.handler(request);
    if (request.method !== "HEAD") return response;
    await response.body?.cancel();
    return new Response(null, { status: response.status, headers: response.headers });
  });
  return { addr: server.addr, shutdown: () => server.shutdown() };
}
