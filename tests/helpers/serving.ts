/**
 * @module
 * Serves a runtime in this process through `src/server/serve.ts` (the listener `berth
 * serve` uses: TLS, client certificates, the debug server, the drain), on 127.0.0.1
 * port 0, with in-memory drivers unless the document names others.
 */
import { buildConfig, type Config } from "../../src/config/mod.ts";
import { silentLogger } from "../../src/log.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime.ts";
import { serve, type Serving } from "../../src/server/serve.ts";

/** A runtime being served. */
export interface Served {
  serving: Serving;
  runtime: Runtime;
  config: Config;
  /** `http(s)://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  /** `http://127.0.0.1:<port>` of the debug server, when configured. */
  debugUrl?: string;
  /** Drains and closes (idempotent). */
  close(): Promise<void>;
}

/** Serves a registry configured by `doc` (merged over in-memory drivers on port 0). */
export async function startServing(
  doc: Record<string, unknown> = {},
  options: RuntimeOptions = {},
): Promise<Served> {
  const http = (doc.http ?? {}) as Record<string, unknown>;
  const base = {
    storage: { inmemory: {} },
    berth: { metadata: { driver: "memory" } },
    ...doc,
    http: { addr: "127.0.0.1:0", ...http },
  };
  const config = buildConfig(base, {});
  const runtime = await createRuntime(config, { logger: silentLogger, ...options });
  let serving: Serving;
  try {
    serving = await serve(runtime, { logger: options.logger ?? silentLogger });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const host = `127.0.0.1:${serving.addr.port}`;
  return {
    serving,
    runtime,
    config,
    url: serving.url,
    host,
    debugUrl: serving.debugAddr ? `http://127.0.0.1:${serving.debugAddr.port}` : undefined,
    close: () => serving.drain(),
  };
}
