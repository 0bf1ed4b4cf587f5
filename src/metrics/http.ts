/**
 * @module
 * distribution's HTTP metrics as a middleware step: per route (`handler`, distribution's
 * route names), requests by status code and method, latency, request and response sizes,
 * and requests in flight. The step sits outside the error boundary, so it sees every
 * final status; requests that match no route are not counted (as in distribution, whose
 * instrumentation wraps each route's handler).
 *
 * A request ends when its response body has been sent (or cancelled): small bodies that
 * are already in memory (a `Content-Length` of at most 64 KiB) end when the response is
 * returned; larger or unsized ones are counted as they stream, so a blob GET's latency and
 * size are those of the whole transfer. Request sizes are the bodies' declared
 * `Content-Length` (0 for a body streamed without one); distribution's Prometheus client
 * adds an estimate of the request line and headers, which costs reading every header.
 */
import type { Middleware, RequestState } from "../http/middleware/chain.ts";
import type { CounterChild, HistogramChild, MetricsRegistry } from "./registry.ts";

/** distribution's request latency buckets (seconds). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];
/** distribution's size buckets: 1 KiB to 2 GiB, doubling. */
const SIZE_BUCKETS = Array.from({ length: 22 }, (_, i) => 1024 * 2 ** i);
/** Bodies up to this size are taken as sent when the response is returned. */
const IN_MEMORY_BODY = 64 * 1024;

/** distribution's names for Berth's routes, where it has the route. */
const HANDLER_NAMES: Record<string, string> = {
  upload: "blob_upload",
  "upload-session": "blob_upload_chunk",
};

/** The `handler` label of a route. */
export function handlerName(route: string): string {
  return HANDLER_NAMES[route] ?? route.replace(/-/g, "_");
}

/** The HTTP metrics step, registering its series in `metrics`. */
export function httpMetrics(metrics: MetricsRegistry): Middleware {
  // Requests on their way: the route is known only once the router (inside this step) has
  // run, so the in-flight gauge is counted from these when scraped.
  const live = new Set<RequestState>();
  const seen = new Set<string>();
  metrics.gauge({
    name: "registry_http_in_flight_requests",
    help: "The in-flight HTTP requests",
    labels: ["handler"],
    collect(gauge) {
      for (const handler of seen) gauge.labels(handler).set(0);
      for (const state of live) {
        if (!state.match) continue;
        const handler = handlerName(state.match.route.name);
        seen.add(handler);
        gauge.labels(handler).inc();
      }
    },
  });
  const total = metrics.counter({
    name: "registry_http_requests_total",
    help: "Total number of HTTP requests made.",
    labels: ["handler", "code", "method"],
  });
  const duration = metrics.histogram({
    name: "registry_http_request_duration_seconds",
    help: "The HTTP request latencies in seconds.",
    labels: ["handler", "method"],
    buckets: DURATION_BUCKETS,
  });
  const requestSize = metrics.histogram({
    name: "registry_http_request_size_bytes",
    help: "The HTTP request sizes in bytes.",
    labels: ["handler"],
    buckets: SIZE_BUCKETS,
  });
  const responseSize = metrics.histogram({
    name: "registry_http_response_size_bytes",
    help: "The HTTP response sizes in bytes.",
    labels: ["handler"],
    buckets: SIZE_BUCKETS,
  });

  /** The series of one handler, method and status, found once and kept. */
  interface Series {
    total: CounterChild;
    duration: HistogramChild;
    requestSize: HistogramChild;
    responseSize: HistogramChild;
  }
  /** By route, then method and status. */
  const series = new Map<string, Map<string, Series>>();
  const seriesOf = (route: string, method: string, status: number): Series => {
    let ofRoute = series.get(route);
    if (!ofRoute) series.set(route, ofRoute = new Map());
    const key = method + status;
    let found = ofRoute.get(key);
    if (!found) {
      const handler = handlerName(route);
      const m = method.toLowerCase();
      found = {
        total: total.labels(handler, String(status), m),
        duration: duration.labels(handler, m),
        requestSize: requestSize.labels(handler),
        responseSize: responseSize.labels(handler),
      };
      ofRoute.set(key, found);
    }
    return found;
  };
  const count = (state: RequestState, status: number, bytes: number) => {
    const s = seriesOf(state.match!.route.name, state.request.method, status);
    s.total.inc();
    s.duration.observe((performance.now() - state.started) / 1000);
    s.requestSize.observe(declaredRequestSize(state));
    s.responseSize.observe(bytes);
  };

  return (state, next) => {
    live.add(state);
    return next().then((response) => {
      if (!state.match) {
        live.delete(state);
        return response;
      }
      // `response.body` is not touched when the length tells enough: reading it turns an
      // in-memory body into a stream, which costs Deno.serve its fast path.
      const length = response.headers.get("content-length");
      const declared = length === null ? NaN : Number(length);
      if (declared <= IN_MEMORY_BODY || !response.body) {
        live.delete(state);
        count(state, response.status, declared <= IN_MEMORY_BODY ? declared : 0);
        return response;
      }
      const body = counted(response.body, (bytes) => {
        live.delete(state);
        count(state, response.status, bytes);
      });
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }, (err) => {
      // Nothing escapes the error boundary inside this step; count what might anyway.
      live.delete(state);
      if (state.match) count(state, 500, 0);
      throw err;
    });
  };
}

/** The request body's declared length (0 without a `Content-Length`). */
function declaredRequestSize(state: RequestState): number {
  // Most requests are pulls: their bodies are none (and their headers cost to read).
  const method = state.request.method;
  if (method === "GET" || method === "HEAD") return 0;
  const length = Number(state.request.headers.get("content-length") ?? 0);
  return length > 0 ? length : 0;
}

/** `body`, calling `done` with the bytes sent once it ends, fails or is cancelled. */
function counted(
  body: ReadableStream<Uint8Array>,
  done: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      done(bytes);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: last } = await reader.read();
        if (last) {
          end();
          controller.close();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (err) {
        end();
        controller.error(err);
      }
    },
    async cancel(reason) {
      end();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
