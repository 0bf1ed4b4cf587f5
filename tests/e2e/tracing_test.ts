/**
 * @module
 * Traces through Deno's built-in OpenTelemetry export: a real Berth process with
 * `OTEL_DENO=true` sends the spans of a push to an OTLP/HTTP receiver run by the test;
 * each request's span is named after its route and carries the route, the repository and
 * the request id, and the request's log line carries the span's trace id.
 */
import assert from "node:assert/strict";
import { pushImage } from "../helpers/oci.ts";
import { curl, makeCerts } from "../helpers/certs.ts";
import { spawnBerth } from "../helpers/process.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
}

function attribute(span: OtlpSpan, key: string): string | undefined {
  const found = span.attributes.find((a) => a.key === key)?.value;
  return found?.stringValue ?? found?.intValue;
}

/** An OTLP/HTTP (JSON) receiver collecting spans and service names. */
function startReceiver() {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.json();
    if (path === "/v1/traces") {
      for (const rs of body.resourceSpans ?? []) {
        for (const a of rs.resource?.attributes ?? []) {
          if (a.key === "service.name") services.add(a.value.stringValue);
        }
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans);
      }
    }
    return Response.json({});
  });
  return {
    spans,
    services,
    env: {
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: "berth-under-test",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
    },
    shutdown: () => server.shutdown(),
  };
}

Deno.test("tracing: an OTLP/HTTP receiver gets the spans of a push, named and annotated", async () => {
  const receiver = startReceiver();
  const { spans, services } = receiver;
  const dir = await Deno.makeTempDir({ prefix: "berth-tracing-" });
  const berth = await spawnBerth({ REGISTRY_BERTH_DATADIR: dir, ...receiver.env });
  try {
    const repo = "traced/app";
    const image = await pushImage(berth.url, repo, 1);
    const res = await fetch(`${berth.url}/v2/${repo}/manifests/v1`, {
      method: "PUT",
      body: image.text,
      headers: {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "X-Request-Id": "push-manifest-1",
      },
    });
    assert.equal(res.status, 201, await res.text());
    // Spans are exported in batches; the rest are flushed when the process exits.
    await berth.kill("SIGTERM");

    assert.ok(services.has("berth-under-test"), `services: ${[...services]}`);
    const server = spans.filter((s) => s.kind === 2); // SPAN_KIND_SERVER
    const put = server.find((s) => s.name === "PUT manifest");
    assert.ok(put, `no "PUT manifest" span among ${server.map((s) => s.name).join(", ")}`);
    assert.equal(attribute(put, "berth.route"), "manifest");
    assert.equal(attribute(put, "http.route"), "manifest");
    assert.equal(attribute(put, "berth.repository"), repo);
    assert.equal(attribute(put, "berth.request_id"), "push-manifest-1");
    const uploads = server.filter((s) => s.name === "POST upload");
    assert.equal(uploads.length, 2, "one span per blob upload (config and layer)");
    for (const s of uploads) assert.equal(attribute(s, "berth.repository"), repo);

    // The request's log line names the trace.
    const line = berth.output.map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    }).find((l) => l?.msg === "request" && l.request_id === "push-manifest-1");
    assert.ok(line, "no log line for the manifest PUT");
    assert.equal(line.trace_id, put.traceId);
    assert.match(line.trace_id, /^[0-9a-f]{32}$/);
  } finally {
    await berth.kill();
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tracing: behind client certificates (node:http2) requests get spans too, continuing a traceparent", async () => {
  const receiver = startReceiver();
  const certs = await makeCerts();
  const dir = await Deno.makeTempDir({ prefix: "berth-tracing-mtls-" });
  const berth = await spawnBerth({
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_HTTP_TLS_CERTIFICATE: certs.serverCert,
    REGISTRY_HTTP_TLS_KEY: certs.serverKey,
    REGISTRY_HTTP_TLS_CLIENTCAS: certs.ca,
    ...receiver.env,
  });
  try {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await curl(
      "--cacert",
      certs.ca,
      "--cert",
      certs.clientCert,
      "--key",
      certs.clientKey,
      "-H",
      "X-Request-Id: mtls-1",
      "-H",
      `traceparent: 00-${traceId}-00f067aa0ba902b7-01`,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `https://${berth.host}/v2/`,
    );
    assert.equal(res.out, "200", res.err);
    await berth.kill("SIGTERM");
    const span = receiver.spans.find((s) => attribute(s, "berth.request_id") === "mtls-1");
    assert.ok(
      span,
      `no span for the request among ${receiver.spans.map((s) => s.name).join(", ")}`,
    );
    assert.equal(span.name, "GET base");
    assert.equal(span.kind, 2);
    assert.equal(span.traceId, traceId, "the caller's trace is continued");
  } finally {
    await berth.kill();
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(certs.dir, { recursive: true });
  }
});
