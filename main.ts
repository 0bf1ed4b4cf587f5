/**
 * @module
 * Berth's entrypoint: read the configuration, open the drivers, serve, and shut down
 * gracefully on SIGINT/SIGTERM. No registry logic lives here.
 *
 * Usage: `deno task start [serve] [config.yml]` (or `REGISTRY_CONFIGURATION_PATH`).
 */
import { ConfigError, loadConfig } from "./src/config.ts";
import { serve } from "./src/http/server/serve.ts";
import { createRuntime } from "./src/runtime.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = await loadConfig({ args: Deno.args });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(2);
    }
    throw err;
  }
  let runtime;
  try {
    runtime = await createRuntime(config);
  } catch (err) {
    // Settings checked while opening drivers and auth stop start-up the same way.
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(2);
    }
    throw err;
  }
  const { logger } = runtime.deps;
  if (config.ignored.length) {
    logger.warn("configuration keys Berth ignores", { keys: config.ignored });
  }
  const server = serve((request, info) => runtime.app.fetch(request, info), {
    hostname: config.http.hostname,
    port: config.http.port,
    server: config.berth.http.server,
    onError: (error) => logger.error("http server error", { error }),
  });
  logger.info("listening", {
    addr: `${server.addr.hostname}:${server.addr.port}`,
    server: server.kind,
    storage: runtime.deps.registry.driver.name,
    metadata: runtime.deps.registry.store.name,
  });

  const stop = async () => {
    logger.info("shutting down");
    await server.shutdown();
    await runtime.close();
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch {
      // Edge runtimes own the process lifecycle and offer no signals.
    }
  }
  await server.finished;
}

if (import.meta.main) await main();
