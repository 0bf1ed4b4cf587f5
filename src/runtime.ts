/**
 * @module
 * Builds a running registry from a configuration: opens the drivers, assembles the
 * registry layer and the application. `main.ts` serves it; tests build their own.
 */
import { openBlobDriver, openMetadataStore } from "../drivers/factory.ts";
import type { BlobDriver } from "../drivers/blob/types.ts";
import type { MetadataStore } from "../drivers/metadata/types.ts";
import { type App, createApp } from "./app.ts";
import type { Config } from "./config/mod.ts";
import type { AppDeps } from "./context.ts";
import { createLogger, type Logger } from "./log.ts";
import { purgeUploads } from "./registry/purge.ts";
import { createRegistry } from "./registry/registry.ts";
import { UploadTokens } from "./upload_token.ts";

/** A registry ready to serve. */
export interface Runtime {
  app: App;
  deps: AppDeps;
  config: Config;
  /** Closes the drivers. */
  close(): Promise<void>;
}

/** Options of {@linkcode createRuntime}. */
export interface RuntimeOptions {
  logger?: Logger;
  /** Drivers to use instead of the configured ones (tests share them between instances). */
  driver?: BlobDriver;
  store?: MetadataStore;
}

/** Opens everything `config` describes; closes what it opened if a later step fails. */
export async function createRuntime(
  config: Config,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const instanceId = config.berth.instanceid ?? crypto.randomUUID().slice(0, 8);
  const logger = options.logger ??
    createLogger({ level: config.log.level, format: config.log.formatter, instanceId });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const driver = options.driver ?? await openBlobDriver(config.storage);
    if (!options.driver && driver.close) opened.push({ close: () => driver.close!() });
    const store = options.store ?? await openMetadataStore(config.berth.metadata);
    if (!options.store) opened.push(store);
    const secret = config.http.secret ?? await sharedSecret(store);
    const registry = createRegistry({
      driver,
      store,
      instanceId,
      portableHashing: config.berth.uploads.hashing === "portable",
      sessionTtlMs: config.berth.uploads.sessionttl,
      leaseMs: config.berth.uploads.lease,
    });
    const baseUrl = config.http.host?.replace(/\/+$/, "");
    // Auth (jose, bcrypt) is loaded only when configured: an open registry stays lighter.
    const auth = config.auth
      ? await (await import("./auth/create.ts")).createAuth(config.auth, { store, logger, baseUrl })
      : { authorizer: undefined, routes: [] };
    const deps: AppDeps = {
      registry,
      tokens: new UploadTokens(secret),
      logger,
      instanceId,
      authorizer: auth.authorizer,
      extraRoutes: auth.routes,
      options: {
        deleteEnabled: config.storage.delete.enabled,
        accessLog: !config.log.accesslog.disabled,
        redirect: !config.storage.redirect.disable,
        maxManifestBytes: config.berth.manifests.maxbytes,
        baseUrl,
        headers: config.http.headers,
      },
    };
    const stopPurging = schedulePurge(config, driver, store, logger);
    return {
      app: createApp(deps),
      deps,
      config,
      close: async () => {
        stopPurging();
        for (const r of opened.reverse()) await r.close().catch(() => {});
      },
    };
  } catch (err) {
    for (const r of opened.reverse()) await r.close().catch(() => {});
    throw err;
  }
}

/**
 * Runs upload purging every `interval`, first after a random delay of one to five minutes
 * (so a fleet does not purge in step). Returns what stops it.
 */
function schedulePurge(
  config: Config,
  driver: BlobDriver,
  store: MetadataStore,
  logger: Logger,
): () => void {
  const purging = config.storage.maintenance.uploadpurging;
  if (!purging.enabled || !driver.uploads.list) return () => {};
  let timer = 0;
  // An unref'd timer: purging never keeps a process alive on its own.
  const later = (ms: number) => {
    timer = setTimeout(tick, ms) as unknown as number;
    Deno.unrefTimer(timer);
  };
  const tick = () => {
    purgeUploads(driver, store, { ageMs: purging.age, dryRun: purging.dryrun, logger })
      .catch((err) => logger.warn("upload purge failed", { error: err }));
    later(purging.interval);
  };
  later(60_000 + Math.random() * 240_000);
  return () => clearTimeout(timer);
}

/**
 * The upload-token secret when `http.secret` is not set: generated once and kept in the
 * metadata store, so restarts and every instance sharing the store agree on it.
 */
async function sharedSecret(store: MetadataStore): Promise<string> {
  const key = ["config", "upload-secret"];
  for (let i = 0; i < 5; i++) {
    const found = await store.get<string>(key);
    if (found) return found.value;
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    if (await store.commit([{ key, version: null }], [{ type: "set", key, value: secret }])) {
      return secret;
    }
  }
  throw new Error("Could not agree on an upload secret with the metadata store");
}
