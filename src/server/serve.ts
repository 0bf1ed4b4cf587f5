/**
 * @module
 * Serving a runtime: the public listener (plain, TLS, or TLS with client certificates),
 * distribution's debug server when `http.debug.addr` is set, and the graceful drain a
 * SIGTERM starts:
 *
 * 1. the lifecycle drains: `/healthz` and every new request answer 503, so a load
 *    balancer stops sending and clients go elsewhere;
 * 2. requests in flight run on, until none is left or `http.draintimeout` passed;
 * 3. the listener shuts (responses still streaming are sent, within the same deadline);
 *    past the deadline every connection is closed: an upload cut there stays resumable
 *    from its last committed offset (its lease ends with this instance's retirement);
 * 4. the debug server stops and the runtime closes (jobs, drivers, heartbeat).
 *
 * {@linkcode Serving} is the small interface `src/commands/serve.ts` (and tests) use.
 */
import type { Logger } from "../log.ts";
import type { Runtime } from "../runtime.ts";
import { type DebugServer, startDebugServer } from "./debug.ts";
import { DrainGate } from "./drain_gate.ts";
import { listen, type Listener } from "./listener.ts";

/** A runtime being served. */
export interface Serving {
  /** `http(s)://host:port` of the public listener. */
  readonly url: string;
  readonly addr: Deno.NetAddr;
  /** Which implementation serves the public listener. */
  readonly kind: "berth" | "deno" | "node";
  /** The debug server's address, when one runs. */
  readonly debugAddr?: Deno.NetAddr;
  /** Requests whose handler is still running. */
  readonly active: number;
  /** Drains and stops everything (idempotent); resolves when the runtime is closed. */
  drain(): Promise<void>;
}

/** Options of {@linkcode serve}; the configuration's by default. */
export interface ServeOptions {
  hostname?: string;
  port?: number;
  logger?: Logger;
}

/** Starts the public listener (and the debug server) for `runtime`. */
export async function serve(runtime: Runtime, options: ServeOptions = {}): Promise<Serving> {
  const { config, lifecycle } = runtime;
  const logger = options.logger ?? runtime.deps.logger;
  const gate = new DrainGate(lifecycle);
  const listener: Listener = await listen({
    hostname: options.hostname ?? config.http.hostname,
    port: options.port ?? config.http.port,
    tls: config.http.tls,
    handler: gate.wrap((request, info) => runtime.app.fetch(request, info)),
    logger,
    server: config.berth.http.server,
  });
  let debug: DebugServer | undefined;
  try {
    if (config.http.debug) debug = startDebugServer(config.http.debug, runtime.debugRoutes);
  } catch (err) {
    listener.abort();
    throw err;
  }
  const host = listener.addr.hostname.includes(":")
    ? `[${listener.addr.hostname}]`
    : listener.addr.hostname;
  let draining: Promise<void> | undefined;
  return {
    url: `${listener.scheme}://${host}:${listener.addr.port}`,
    addr: listener.addr,
    kind: listener.kind,
    debugAddr: debug?.addr,
    get active() {
      return gate.active;
    },
    drain() {
      return draining ??= drain();
    },
  };

  async function drain(): Promise<void> {
    const timeout = config.http.draintimeout;
    const deadline = Date.now() + timeout;
    lifecycle.drain();
    logger.info("draining", { active: gate.active, timeout_ms: timeout });
    const inTime = await within(gate.idle(), deadline) &&
      await within(listener.shutdown(), deadline);
    if (!inTime) {
      logger.warn("drain timeout: closing the connections left", { active: gate.active });
      listener.abort();
      // Cut requests unwind (their leases are given back) before the drivers close.
      await within(gate.idle(), Date.now() + 5_000);
    }
    await listener.finished;
    await debug?.shutdown();
    await runtime.close();
    logger.info("stopped");
  }
}

/** True when `promise` settled before `deadline` (epoch milliseconds). */
async function within(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
