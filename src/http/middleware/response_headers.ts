/**
 * @module
 * Headers every response carries (`Docker-Distribution-API-Version`, `X-Request-Id`,
 * the configured `http.headers`), and HEAD responses without a body.
 */
import type { Middleware } from "./chain.ts";

const API_VERSION = "registry/2.0";

/** The response-headers step; `extra` are `http.headers`. */
export function responseHeaders(extra: Record<string, string[]> = {}): Middleware {
  const entries = Object.entries(extra).map(([name, values]) => [name, values.join(", ")]);
  return async (state, next) => {
    let response = await next();
    const headers = response.headers;
    headers.set("Docker-Distribution-API-Version", API_VERSION);
    headers.set("X-Request-Id", state.requestId);
    for (const [name, value] of entries) headers.set(name, value);
    if (state.request.method === "HEAD" && response.body) {
      response.body.cancel().catch(() => {});
      response = new Response(null, { status: response.status, headers });
    }
    return response;
  };
}
