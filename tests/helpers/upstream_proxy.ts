/**
 * @module
 * An HTTP proxy on 127.0.0.1 in front of an upstream registry, for mirror tests: it
 * streams requests and answers through (bodies are never buffered), logs every request
 * (method, path, whether it carried credentials), and can misbehave on demand: refuse
 * with 503, hang, or lie (flip one byte of every blob it sends).
 */

/** One request the proxy saw. */
export interface Seen {
  method: string;
  /** Path and query. */
  path: string;
  authorization: string | null;
}

/** How the proxy behaves right now (change the fields at any time). */
export interface ProxyMode {
  /** Answer everything with 503. */
  unavailable: boolean;
  /** Hold every request this long before forwarding it. */
  delayMs: number;
  /** Flip the byte at this offset of every blob and manifest it forwards by digest (a liar). */
  flipAt: number | null;
  /**
   * Answers a request itself when it returns a response (it may call `proxy.forward` and
   * change the answer); null forwards as usual.
   */
  intercept: ((request: Request, url: URL) => Promise<Response> | null) | null;
}

/** A running proxy. */
export interface UpstreamProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** Where requests go; may be set after the proxy started. */
  target: string;
  readonly seen: Seen[];
  readonly mode: ProxyMode;
  /** Sends `request` to the target as the proxy would. */
  forward(request: Request): Promise<Response>;
  /** Requests whose method is `method` and whose path matches `path`. */
  count(method: string, path: RegExp): number;
  /** Forgets the requests seen so far. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an origin; it may be set later through `target`). */
export function startUpstreamProxy(target = ""): UpstreamProxy {
  const seen: Seen[] = [];
  const mode: ProxyMode = { unavailable: false, delayMs: 0, flipAt: null, intercept: null };
  const forward = (request: Request) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    return fetch(`${proxy.target}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      seen.push({
        method: request.method,
        path: url.pathname + url.search,
        authorization: request.headers.get("authorization"),
      });
      if (mode.delayMs) {
        // The wait ends early when the client gives up, so shutting down never waits it out.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, mode.delayMs);
          request.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        if (request.signal.aborted) return new Response(null, { status: 499 });
      }
      if (mode.unavailable) {
        await request.body?.cancel();
        return new Response("upstream down", { status: 503 });
      }
      const answer = mode.intercept?.(request, url);
      if (answer) return await answer;
      const res = await forward(request);
      const content = /\/(blobs|manifests)\/sha256:/.test(url.pathname) && request.method === "GET";
      const body = content && mode.flipAt !== null && res.body
        ? res.body.pipeThrough(flipping(mode.flipAt))
        : res.body;
      return new Response(body, { status: res.status, headers: res.headers });
    },
  );
  const host = `127.0.0.1:${server.addr.port}`;
  const proxy: UpstreamProxy = {
    url: `http://${host}`,
    host,
    target,
    seen,
    mode,
    forward,
    count: (method, path) => seen.filter((s) => s.method === method && path.test(s.path)).length,
    reset: () => {
      seen.length = 0;
    },
    close: () => server.shutdown(),
  };
  return proxy;
}

/** Passes bytes through, with the byte at `offset` inverted. */
function flipping(offset: number): TransformStream<Uint8Array, Uint8Array> {
  let at = 0;
  return new TransformStream({
    transform(chunk, controller) {
      if (offset >= at && offset < at + chunk.byteLength) {
        const copy = chunk.slice();
        copy[offset - at] ^= 0xff;
        chunk = copy;
      }
      at += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}
