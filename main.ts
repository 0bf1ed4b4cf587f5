/**
 * @module
 * Berth's entrypoint: read the configuration, open the drivers, serve, and shut down
 * gracefully on SIGINT/SIGTERM. No registry logic lives here.
 *
 * Usage: `deno task start [serve] [config.yml]` (or `REGISTRY_CONFIGURATION_PATH`);
 * `metadata export|import <location>` copies the metadata to or from another store
 * (`src/commands/metadata.ts`).
 */
import { ConfigError, loadConfig } from "./src/config/mod.ts";
import { createRuntime } from "./src/runtime.ts";

async function main(): Promise<void> {
  if (Deno.args[0] === "metadata") {
    const { metadataCommand } = await import("./src/commands/metadata.ts");
    Deno.exit(await metadataCommand(Deno.args.slice(1)));
  }
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
  const server = Deno.serve({
    hostname: config.http.hostname,
    port: config.http.port,
    onListen: ({ hostname, port }) => {
      logger.info("listening", {
        addr: `${hostname}:${port}`,
        ...runtime.deps.registry.describe(),
      });
    },
  }, (request, info) => runtime.app.fetch(request, info));

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
