/**
 * @module
 * Serving the fetch-shaped application: with Berth's own HTTP/1.1 listener
 * (`src/http/server/listener.ts`) where the runtime lets a program open sockets, or with
 * `Deno.serve` where it does not (Deno Deploy and other edge runtimes). The choice is the
 * setting `berth.http.server`: `auto` (the default), `berth` or `deno`.
 */
import type { Handler } from "./connection.ts";
import { type HttpServer, listen, type ListenOptions } from "./listener.ts";

export type { Handler } from "./connection.ts";
export type { HttpServer } from "./listener.ts";

/** Which server implementation to run. */
export type ServerChoice = "auto" | "berth" | "deno";

/** Options of {@linkcode serve}. */
export interface ServeOptions extends ListenOptions {
  /** Default `auto`. */
  server?: ServerChoice;
}

/** A server and the implementation serving it. */
export interface Serving extends HttpServer {
  readonly kind: "berth" | "deno";
}

/**
 * `auto` resolved for this runtime: `deno` on Deno Deploy (`DENO_DEPLOYMENT_ID` is set) or
 * wherever `Deno.listen` is missing, else `berth`.
 */
export function resolveServer(
  choice: ServerChoice,
  env: (name: string) => string | undefined = readEnv,
  canListen = typeof Deno.listen === "function",
): "berth" | "deno" {
  if (choice !== "auto") return choice;
  return !canListen || env("DENO_DEPLOYMENT_ID") ? "deno" : "berth";
}

/** Serves `handler` with the implementation `options.server` picks. */
export function serve(handler: Handler, options: ServeOptions): Serving {
  const kind = resolveServer(options.server ?? "auto");
  if (kind === "berth") return { kind, ...listen(handler, options) };
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...(options.tls ?? {}),
    onListen: () => {},
    onError: (err) => {
      options.onError?.(err);
      return new Response("Internal Server Error\n", { status: 500 });
    },
  }, (request, info) => handler(request, info));
  const addr = server.addr as Deno.NetAddr;
  options.onListen?.(addr);
  return { kind, addr, finished: server.finished, shutdown: () => server.shutdown() };
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: not a platform that sets it
  }
}
