/**
 * @module
 * Mirror fixtures: a Berth that mirrors an upstream (in process, port 0), its counters,
 * and an upstream Berth that can be stopped and started again on the same port with the
 * same content (an outage).
 */
import { MemoryBlobDriver } from "../../drivers/blob/memory.ts";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { buildConfig } from "../../src/config/mod.ts";
import { silentLogger } from "../../src/log.ts";
import type { MirrorCapability, MirrorStats } from "../../src/mirror/mod.ts";
import { meta } from "../../src/registry/keys.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import { type StartOptions, startRegistry, type TestRegistry } from "./registry.ts";

/** Starts a Berth whose `berth.mirrors` are `mirrors` (plus whatever `options` add). */
export function startMirror(
  mirrors: Record<string, unknown>[],
  options: StartOptions = {},
): Promise<TestRegistry> {
  const doc = options.doc ?? {};
  const berth = (doc.berth ?? {}) as Record<string, unknown>;
  return startRegistry({ ...options, doc: { ...doc, berth: { ...berth, mirrors } } });
}

/** The counters of the mirror with `prefix` of a running registry. */
export function mirrorStats(runtime: Runtime, prefix: string): MirrorStats {
  const capability = runtime.capabilities.find((c) => c.name === "mirror") as
    | MirrorCapability
    | undefined;
  const stats = capability?.stats().find((s) => s.prefix === prefix);
  if (!stats) throw new Error(`No mirror with prefix "${prefix}"`);
  return stats;
}

/**
 * Waits until `repo` of a running registry links blob `digest`: a client has a blob once
 * its bytes are verified, and the cache links it a moment later (once they are durable).
 */
export async function waitCached(runtime: Runtime, repo: string, digest: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!await runtime.drivers.metadata.get(meta.layer(repo, digest))) {
    if (Date.now() > deadline) throw new Error(`${repo} never linked ${digest}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Berth upstream that can be stopped and started again, keeping its content and port. */
export interface RestartableUpstream {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts an open Berth with in-memory drivers on a port it keeps across restarts. */
export async function startRestartableUpstream(): Promise<RestartableUpstream> {
  const driver = new MemoryBlobDriver();
  const store = new MemoryMetadataStore();
  const config = buildConfig({
    storage: { inmemory: {} },
    berth: { metadata: { driver: "memory" } },
  });
  let port = 0;
  let running: { server: Deno.HttpServer<Deno.NetAddr>; runtime: Runtime } | null = null;
  const start = async () => {
    const runtime = await createRuntime(config, { logger: silentLogger, driver, store });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (request, info) => runtime.app.fetch(request, info),
    );
    port = server.addr.port;
    running = { server, runtime };
  };
  const stop = async () => {
    if (!running) return;
    const { server, runtime } = running;
    running = null;
    await server.shutdown();
    await runtime.close();
  };
  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get host() {
      return `127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    stop,
    start,
    close: stop,
  };
}
