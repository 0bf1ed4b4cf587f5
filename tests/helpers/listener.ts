/**
 * @module
 * Berth's HTTP/1.1 listener started on port 0 for tests, and an echo handler that reports
 * what arrived (method, target, body length and SHA-256).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Handler } from "../../src/http/server/connection.ts";
import { type HttpServer, listen, type ListenOptions } from "../../src/http/server/listener.ts";

const enc = new TextEncoder();

/** Runs `run` against a listener serving `handler`; fails on unexpected server errors. */
export async function withServer(
  handler: Handler,
  run: (port: number, server: HttpServer) => Promise<void>,
  options: Partial<ListenOptions> = {},
): Promise<void> {
  const errors: unknown[] = [];
  const server = listen(handler, {
    hostname: "127.0.0.1",
    port: 0,
    onError: (e) => errors.push(e),
    ...options,
  });
  try {
    await run(server.addr.port, server);
  } finally {
    await server.shutdown();
  }
  assert.deepEqual(errors, [], "no unexpected server errors");
}

/** Echo handler: answers with the method, path, body length and body SHA-256 of each request. */
export const echo: Handler = async (request) => {
  const hash = createHash("sha256");
  let length = 0;
  if (request.body) {
    for await (const chunk of request.body) {
      hash.update(chunk);
      length += chunk.length;
    }
  }
  const url = new URL(request.url);
  const text = enc.encode(JSON.stringify({
    method: request.method,
    path: url.pathname + url.search,
    length,
    sha: hash.digest("hex"),
  }));
  return new Response(text, { headers: { "content-length": String(text.length) } });
};

export const json = (text: string) => JSON.parse(text);
export const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
