/**
 * @module
 * Berth's own HTTP/1.1 listener on `Deno.listen` (or `Deno.listenTls`): accepts
 * connections, serves each with a {@linkcode Connection}, and shuts down gracefully: it
 * stops accepting, closes idle connections, and lets requests in flight finish.
 *
 * Why not `Deno.serve`: Deno 2.9's own HTTP/1 path buffers request bytes without
 * backpressure and moves the whole buffer once per chunk taken, so a chunked upload in small
 * pieces (podman, buildah) slows down quadratically and holds memory as soon as the handler
 * awaits anything between two reads. Here a body is read from the socket only when it is
 * pulled.
 */
import { Connection, type Handler, type Timeouts } from "./connection.ts";

/** Default timeouts, in milliseconds. */
export const DEFAULT_TIMEOUTS: Timeouts = {
  idleTimeoutMs: 75_000,
  headTimeoutMs: 30_000,
  ioTimeoutMs: 120_000,
};

/** Options of {@linkcode listen}. */
export interface ListenOptions extends Partial<Timeouts> {
  hostname: string;
  port: number;
  /** PEM certificate chain and key: serve HTTPS (HTTP/1.1 only). */
  tls?: { cert: string; key: string };
  /** Called once the socket listens. */
  onListen?: (addr: Deno.NetAddr) => void;
  /** Unexpected failures (a handler that throws, an accept that fails). */
  onError?: (error: unknown) => void;
}

/** A running server, whichever implementation serves. */
export interface HttpServer {
  /** The address it listens on (the port chosen when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets requests in flight finish, and resolves when all are done. */
  shutdown(): Promise<void>;
  /** Closes every connection now (a drain that ran out of time). */
  abort?(): void;
}

/** Starts Berth's listener. */
export function listen(handler: Handler, options: ListenOptions): HttpServer {
  const listener: Deno.Listener = options.tls
    ? Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      cert: options.tls.cert,
      key: options.tls.key,
      alpnProtocols: ["http/1.1"],
    })
    : Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  const addr = listener.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const connectionOptions = {
    ...DEFAULT_TIMEOUTS,
    ...definedOnly(options),
    handler,
    scheme: options.tls ? "https" as const : "http" as const,
    defaultHost: `${host}:${addr.port}`,
    onError: options.onError,
  };
  const open = new Map<Connection, Promise<void>>();
  let closing = false;

  const accepting = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) break;
        // Out of descriptors or a failed handshake: keep serving the others.
        options.onError?.(err);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if ("setNoDelay" in conn) {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Not a TCP socket.
        }
      }
      const connection = new Connection(conn, connectionOptions);
      open.set(connection, connection.serve().finally(() => open.delete(connection)));
    }
  })();

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  let stopping: Promise<void> | null = null;
  options.onListen?.(addr);
  return {
    addr,
    finished,
    shutdown() {
      return stop((connection) => connection.shutdown());
    },
    abort() {
      void stop((connection) => connection.abort());
      // A shutdown already waiting lets its connections finish: end them now.
      for (const connection of open.keys()) connection.abort();
    },
  };

  /**
   * Stops accepting, tells every connection `how` to end, and resolves `finished` once
   * all have (the first of shutdown and abort starts it; an abort during a shutdown cuts
   * what the shutdown was waiting for).
   */
  function stop(how: (connection: Connection) => void): Promise<void> {
    stopping ??= (async () => {
      closing = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await accepting;
      for (const connection of open.keys()) how(connection);
      while (open.size) await Promise.all(open.values());
      finish();
    })();
    return stopping;
  }
}

/** The timeouts actually given (undefined ones keep their defaults). */
function definedOnly(options: Partial<Timeouts>): Partial<Timeouts> {
  const out: Partial<Timeouts> = {};
  for (const key of ["idleTimeoutMs", "headTimeoutMs", "ioTimeoutMs"] as const) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}
