/**
 * @module
 * Counts the requests a handler is working on, so a shutdown can wait for them. Deno's
 * `server.shutdown()` cuts request bodies still being read (an upload in flight), so the
 * server is shut only once no handler runs: until then, requests that arrive after the
 * drain began are answered 503 `UNAVAILABLE` with `Retry-After` (the client goes to
 * another instance and, for an upload, resumes there from the last committed offset).
 */
import type { Lifecycle } from "../lifecycle.ts";

/** A `fetch`-shaped handler with the connection's info. */
export type ServeHandler = (
  request: Request,
  info: { remoteAddr?: Deno.Addr },
) => Promise<Response>;

/** Counts active requests and refuses new ones while the lifecycle drains. */
export class DrainGate {
  readonly #lifecycle: Lifecycle;
  #active = 0;
  #waiters: (() => void)[] = [];

  constructor(lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
  }

  /** Requests whose handler has not returned yet. */
  get active(): number {
    return this.#active;
  }

  /** `handler`, counted; new requests are refused once draining. */
  wrap(handler: ServeHandler): ServeHandler {
    return async (request, info) => {
      if (this.#lifecycle.draining) return shuttingDown(request);
      this.#active++;
      try {
        return await handler(request, info);
      } finally {
        if (--this.#active === 0) {
          for (const wake of this.#waiters.splice(0)) wake();
        }
      }
    };
  }

  /** Resolves once no request is active. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

function shuttingDown(request: Request): Response {
  request.body?.cancel().catch(() => {});
  const body = JSON.stringify({
    errors: [{
      code: "UNAVAILABLE",
      message: "Berth is shutting down; retry on another instance",
      detail: null,
    }],
  });
  return new Response(request.method === "HEAD" ? null : body, {
    status: 503,
    headers: {
      "Content-Type": "application/json",
      "Retry-After": "1",
      "Docker-Distribution-API-Version": "registry/2.0",
    },
  });
}
