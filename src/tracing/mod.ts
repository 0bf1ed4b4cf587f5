/**
 * @module
 * Traces through Deno's built-in OpenTelemetry export (`OTEL_DENO=true`, with the
 * standard `OTEL_EXPORTER_OTLP_*` and `OTEL_SERVICE_NAME` variables). `Deno.serve` opens a
 * server span per request by itself; this step names it after the route (`PUT manifest`)
 * and gives it the route, the repository and the request id (`berth.route`,
 * `berth.repository`, `berth.request_id`, and `http.route`), and hands the trace id to
 * the request's log line (`trace_id`). Where no span is open (the client-certificate
 * listener runs on `node:http2`), the step opens one, continuing a `traceparent` the
 * client sent. Outgoing `fetch` calls (S3, KV Connect, health checks) join the trace by
 * themselves.
 *
 * Off unless `OTEL_DENO` is set: nothing is loaded and no step is added.
 */
import type { CapabilityFactory } from "../capability.ts";
import type { Middleware } from "../http/middleware/chain.ts";

/** Whether Deno's OpenTelemetry export is on for this process. */
export function tracingEnabled(env: (name: string) => string | undefined): boolean {
  const value = env("OTEL_DENO")?.toLowerCase();
  return value === "true" || value === "1";
}

/** The tracing capability, or null when `OTEL_DENO` is not set. */
export const tracingCapability: CapabilityFactory = async () => {
  let enabled = false;
  try {
    enabled = tracingEnabled((name) => Deno.env.get(name));
  } catch {
    // No permission to read the environment: no tracing.
  }
  if (!enabled) return null;
  return { name: "tracing", middleware: [await tracingStep()] };
};

/** The step that names and annotates each request's server span. */
export async function tracingStep(): Promise<Middleware> {
  const { context, propagation, SpanKind, SpanStatusCode, trace } = await import(
    "@opentelemetry/api"
  );
  const tracer = trace.getTracer("berth");
  return async (state, next) => {
    const active = trace.getActiveSpan();
    const annotate = (span: NonNullable<typeof active>) => async () => {
      state.traceId = span.spanContext().traceId;
      const response = await next();
      const route = state.match?.route.name;
      if (route) {
        span.updateName(`${state.request.method} ${route}`);
        span.setAttribute("http.route", route);
        span.setAttribute("berth.route", route);
      }
      if (state.name) span.setAttribute("berth.repository", state.name);
      span.setAttribute("berth.request_id", state.requestId);
      return response;
    };
    if (active) return await annotate(active)();
    // No server span around this request: open one, continuing the caller's trace.
    const carrier: Record<string, string> = {};
    for (const [k, v] of state.request.headers) carrier[k] = v;
    const parent = propagation.extract(context.active(), carrier);
    return await tracer.startActiveSpan(
      state.request.method,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": state.request.method } },
      parent,
      async (span) => {
        try {
          const response = await annotate(span)();
          span.setAttribute("http.response.status_code", response.status);
          if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          return response;
        } finally {
          span.end();
        }
      },
    );
  };
}
