/**
 * @module
 * The public listener behind one small interface: plain HTTP/1.1 (and h2c) or HTTP/2 and
 * HTTP/1.1 over TLS through `Deno.serve`, or, when client certificates are required,
 * `node:http2`'s secure server (`node_listener.ts`). The TLS files are read here, at
 * start-up; one that cannot be read or parsed stops start-up naming its setting.
 */
import { ConfigError, type TlsConfig } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import type { ServeHandler } from "./drain_gate.ts";
import { listenNode, type TlsMaterial } from "./node_listener.ts";
import type { Listener } from "./types.ts";

export type { Listener };

/** What {@linkcode listen} needs. */
export interface ListenOptions {
  hostname: string;
  port: number;
  tls?: TlsConfig;
  handler: ServeHandler;
  logger: Logger;
}

/** Starts the public listener. */
export async function listen(options: ListenOptions): Promise<Listener> {
  const { hostname, port, handler, logger } = options;
  const material = options.tls ? await readTls(options.tls) : undefined;
  if (material && material.ca.length) {
    return await listenNode({ hostname, port, tls: material, handler }, logger);
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
