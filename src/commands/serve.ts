/**
 * @module
 * `berth serve [config.yml]`: reads the configuration (the file, then `REGISTRY_*`
 * variables), builds the runtime, serves it, and drains on SIGTERM or SIGINT (a second
 * signal exits at once). On an edge runtime, which offers no signals, the platform owns
 * the process and it simply serves.
 */
import { ConfigError, loadConfig } from "../config/mod.ts";
import { createRuntime } from "../runtime.ts";
import { serve } from "../server/serve.ts";
import { VERSION } from "../version.ts";
import type { Command } from "./command.ts";

/** `berth serve`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve the registry (the default command)",
  usage: "[config.yml | --config <path>]",
  async run(args) {
    let serving;
    let logger;
    try {
      const config = await loadConfig({ args });
      const runtime = await createRuntime(config);
      logger = runtime.deps.logger;
      if (config.ignored.length) {
        logger.warn("configuration keys Berth ignores", { keys: config.ignored });
      }
      try {
        serving = await serve(runtime);
      } catch (err) {
        await runtime.close();
        throw err;
      }
      logger.info("listening", {
        addr: `${serving.addr.hostname}:${serving.addr.port}`,
        url: serving.url,
        server: serving.kind,
        debug: serving.debugAddr
          ? `${serving.debugAddr.hostname}:${serving.debugAddr.port}`
          : undefined,
        version: VERSION,
        ...runtime.deps.registry.describe(),
      });
    } catch (err) {
      // Settings checked while opening drivers, auth and listeners stop start-up the same way.
      if (err instanceof ConfigError) {
        console.error(err.message);
        return 2;
      }
      throw err;
    }
    const stopped = Promise.withResolvers<number>();
    let signalled = false;
    const stop = () => {
      if (signalled) {
        logger.warn("second signal: exiting without waiting");
        stopped.resolve(1);
        return;
      }
      signalled = true;
      serving.drain().then(() => stopped.resolve(0), (err) => {
        logger.error("shutdown failed", { error: err });
        stopped.resolve(1);
      });
    };
    let listening = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, stop);
        listening = true;
      } catch {
        // Edge runtimes own the process lifecycle and offer no signals.
      }
    }
    if (!listening) await new Promise(() => {});
    return await stopped.promise;
  },
};
