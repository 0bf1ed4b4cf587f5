/**
 * @module
 * Misbehaving proxies on 127.0.0.1 in front of a test server, for retry tests: one that
 * answers the first requests with an error status (S3's 503 SlowDown), one that drops
 * the first connections after reading the request (a connection reset mid-request); and
 * one that is merely slow (a throttled backend, for memory tests).
 */

/** A running proxy. */
export interface Proxy {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Requests (HTTP proxy) or connections (TCP proxy) seen so far. */
  readonly seen: number;
  close(): Promise<void>;
}

/**
 * Forwards HTTP requests to `target`, except the first `failFirst` (all, when Infinity),
 * which get `status` with an S3 error document.
 */
export function startFailingProxy(target: string, failFirst: number, status = 503): Proxy {
  let seen = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      seen++;
      if (seen <= failFirst) {
        await request.body?.cancel();
        const body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate." +
          "</Message></Error>";
        return new Response(request.method === "HEAD" ? null : body, {
          status,
          headers: { "content-type": "application/xml" },
        });
      }
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
      return await fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body,
      });
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    get seen() {
      return seen;
    },
    close: () => server.shutdown(),
  };
}

/**
 * Forwards TCP connections to `127.0.0.1:<port>`, except the first `dropFirst`, which
 * are closed as soon as the request's first bytes arrive.
 */
export function startDroppingProxy(port: number, dropFirst: number): Proxy {
  return tcpProxy(port, async (conn, n, connect) => {
    if (n <= dropFirst) {
      await conn.read(new Uint8Array(1024)).catch(() => null);
      return;
    }
    const upstream = await connect();
    await Promise.all([
      conn.readable.pipeTo(upstream.writable, { preventClose: false }).catch(() => {}),
      upstream.readable.pipeTo(conn.writable).catch(() => {}),
    ]);
  });
}

/**
 * Forwards TCP connections to `127.0.0.1:<port>`, passing what clients send upstream at no
 * more than `bytesPerSecond` per connection (answers flow back unthrottled): a storage
 * backend slower than the clients writing through Berth.
 */
export function startThrottledProxy(port: number, bytesPerSecond: number): Proxy {
  const throttled = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(16 * 1024);
    const started = performance.now();
    let moved = 0;
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        for (let at = 0; at < n;) at += await to.write(buf.subarray(at, n));
        moved += n;
        const due = (moved / bytesPerSecond) * 1000 - (performance.now() - started);
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
      await to.closeWrite().catch(() => {});
    } catch { /* a side went away */ }
  };
  return tcpProxy(port, async (conn, _n, connect) => {
    const upstream = await connect();
    await Promise.all([
      throttled(conn, upstream),
      upstream.readable.pipeTo(conn.writable, { preventClose: true }).catch(() => {}),
    ]);
  });
}

/**
 * A TCP proxy in front of `127.0.0.1:<port>`: `handle` gets each client connection, its
 * number (from 1) and a way to connect upstream. The connections of one client are closed
 * when `handle` ends, and all of them by `close`.
 */
function tcpProxy(
  port: number,
  handle: (conn: Deno.Conn, n: number, connect: () => Promise<Deno.Conn>) => Promise<unknown>,
): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const piping = new Set<Promise<unknown>>();
  let seen = 0;
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* closed by its stream */ }
  };
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    const mine = [conn];
    const connect = async () => {
      const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      open.add(upstream);
      mine.push(upstream);
      return upstream;
    };
    try {
      await handle(conn, ++seen, connect);
    } finally {
      for (const c of mine) close(c);
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      const task = serve(conn);
      piping.add(task);
      task.finally(() => piping.delete(task));
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get seen() {
      return seen;
    },
    close: async () => {
      listener.close();
      for (const conn of [...open]) close(conn);
      await accepting;
      await Promise.allSettled([...piping]);
    },
  };
}
