/**
 * @module
 * The public listener when clients must present certificates (`http.tls.clientcas`):
 * `Deno.serve` cannot verify client certificates, so this one is `node:http2`'s secure
 * server (HTTP/2 and HTTP/1.1 over TLS, `requestCert` with the configured CAs; a client
 * without a certificate one of them signed fails the handshake). Requests and responses
 * are carried between Node's objects and the `fetch`-shaped application here, streaming
 * both ways with back-pressure.
 */
import { once } from "node:events";
import http2 from "node:http2";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { Logger } from "../log.ts";
import type { ServeHandler } from "./drain_gate.ts";
import type { Listener } from "./types.ts";

/** TLS material, already read from the files. */
export interface TlsMaterial {
  cert: string;
  key: string;
  /** PEM CA certificates that sign client certificates. */
  ca: string[];
}

/** Headers HTTP/2 forbids (connection-specific); never copied onto an HTTP/2 response. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** Listens on `hostname:port` with client-certificate verification. */
export async function listenNode(
  options: { hostname: string; port: number; tls: TlsMaterial; handler: ServeHandler },
  logger: Logger,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  let responding = 0;
  let quiet: (() => void) | null = null;
  const server = http2.createSecureServer({
    allowHTTP1: true,
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    responding++;
    res.once("close", () => {
      if (--responding === 0 && quiet) quiet();
    });
    respond(req, res, options.handler).catch((err) => {
      logger.error("response failed", { error: err });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // Failed handshakes (no or an unknown client certificate) are the client's problem.
  server.on("tlsClientError", () => {});
  server.listen(options.port, options.hostname);
  await once(server, "listening");
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("TLS listener has no address");
  const finished = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const abort = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    addr: { transport: "tcp", hostname: address.address, port: address.port },
    scheme: "https",
    kind: "node",
    finished,
    async shutdown() {
      server.close();
      if (responding > 0) await new Promise<void>((resolve) => quiet = resolve);
      abort();
      await finished;
    },
    abort,
  };
}

type NodeRequest = http2.Http2ServerRequest;
type NodeResponse = http2.Http2ServerResponse;

async function respond(req: NodeRequest, res: NodeResponse, handler: ServeHandler) {
  const aborted = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const authority = req.headers[":authority"] ?? req.headers.host ?? "localhost";
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(`https://${authority}${req.url}`, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) as ReadableStream<Uint8Array> : null,
    signal: aborted.signal,
    // @ts-ignore: `duplex` is required for a streamed body and missing from the DOM types.
    duplex: "half",
  });
  const socket = req.socket;
  const response = await handler(request, {
    remoteAddr: {
      transport: "tcp",
      hostname: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
    },
  });
  const h2 = req.httpVersionMajor === 2;
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || (h2 && CONNECTION_HEADERS.has(name))) continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      if (res.destroyed) throw new Error("The client went away");
      if (!res.write(value)) {
        await Promise.race([once(res, "drain"), once(res, "close")]);
      }
    }
    res.end();
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    res.destroy();
  }
}
