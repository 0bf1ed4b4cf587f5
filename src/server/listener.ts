/**
 * @module
 * The public listener behind one small interface:
 *
 * - plain HTTP/1.1: Berth's own listener (`src/http/server/`), which reads request bodies
 *   only as they are consumed (Deno 2.9's `Deno.serve` slows down quadratically on
 *   chunked uploads in small pieces), or `Deno.serve` where the runtime has no sockets
 *   (Deno Deploy) or `berth.http.server: deno` asks for it;
 * - TLS: `Deno.serve` (HTTP/2, where chunked bodies do not exist, and HTTP/1.1);
 * - TLS with client certificates: `node:http2`'s secure server (`node_listener.ts`).
 *
 * The TLS files are read here, at start-up; one that cannot be read or parsed stops
 * start-up naming its setting.
 */
import { ConfigError, type TlsConfig } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import type { ServeHandler } from "./drain_gate.ts";
import type { TlsMaterial } from "./node_listener.ts";
import type { Listener } from "./types.ts";
import { listen as listenBerth } from "../http/server/listener.ts";
import { resolveServer, type ServerChoice } from "../http/server/serve.ts";

export type { Listener };

/** What {@linkcode listen} needs. */
export interface ListenOptions {
  hostname: string;
  port: number;
  tls?: TlsConfig;
  handler: ServeHandler;
  logger: Logger;
  /** Which server serves plain HTTP (`berth.http.server`); default `auto`. */
  server?: ServerChoice;
}

/** Starts the public listener. */
export async function listen(options: ListenOptions): Promise<Listener> {
  const { hostname, port, handler, logger } = options;
  const material = options.tls ? await readTls(options.tls) : undefined;
  if (material && material.ca.length) {
    // Loaded only here: node:http2 adds about 10 MiB to every process that imports it.
    const { listenNode } = await import("./node_listener.ts");
    return await listenNode({ hostname, port, tls: material, handler }, logger);
  }
  if (!material && resolveServer(options.server ?? "auto") === "berth") {
    const server = listenBerth(handler, {
      hostname,
      port,
      onError: (err) => logger.error("request failed outside the application", { error: err }),
    });
    return {
      addr: server.addr,
      scheme: "http",
      kind: "berth",
      finished: server.finished,
      shutdown: () => server.shutdown(),
      abort: () => server.abort?.(),
    };
  }
  const aborter = new AbortController();
  const init: Deno.ServeTcpOptions = {
    hostname,
    port,
    signal: aborter.signal,
    onListen: () => {},
    onError: (err) => {
      logger.error("request failed outside the application", { error: err });
      return new Response(null, { status: 500 });
    },
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = material
      ? Deno.serve({ ...init, cert: material.cert, key: material.key }, handler)
      : Deno.serve(init, handler);
  } catch (err) {
    if (material && !(err instanceof Deno.errors.AddrInUse)) {
      throw new ConfigError(
        "http.tls",
        `certificate or key cannot be used: ${(err as Error).message}`,
      );
    }
    throw err;
  }
  return {
    addr: server.addr,
    scheme: material ? "https" : "http",
    kind: "deno",
    finished: server.finished,
    shutdown: () => server.shutdown(),
    abort: () => aborter.abort(),
  };
}

async function readTls(tls: TlsConfig): Promise<TlsMaterial> {
  const read = async (setting: string, path: string) => {
    try {
      const text = await Deno.readTextFile(path);
      if (!text.includes("-----BEGIN ")) throw new Error("it holds no PEM block");
      return text;
    } catch (err) {
      throw new ConfigError(setting, `"${path}" cannot be read: ${(err as Error).message}`);
    }
  };
  return {
    cert: await read("http.tls.certificate", tls.certificate),
    key: await read("http.tls.key", tls.key),
    ca: await Promise.all(tls.clientcas.map((p) => read("http.tls.clientcas", p))),
  };
}
