/**
 * @module
 * One structured log line per request (`log.accesslog.disabled` leaves it out of the
 * chain): method, route, repository, status, bytes, milliseconds, request id, trace id
 * (when tracing is on), client.
 */
import type { Logger } from "../../log.ts";
import type { Middleware } from "./chain.ts";

/** The access-log step. */
export function accessLog(logger: Logger): Middleware {
  return async (state, next) => {
    const response = await next();
    logger.info("request", {
      method: state.request.method,
      route: state.match?.route.name ?? "none",
      repo: state.name || undefined,
      status: response.status,
      bytes: Number(response.headers.get("content-length") ?? 0),
      ms: Math.round((performance.now() - state.started) * 10) / 10,
      request_id: state.requestId,
      trace_id: state.traceId,
      client: state.client || undefined,
    });
    return response;
  };
}
