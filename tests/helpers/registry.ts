/**
 * @module
 * Starts a real Berth server on 127.0.0.1, port 0, for end-to-end tests: in-memory
 * drivers (fast) or a filesystem blob store plus a Deno KV file in a temp directory.
 */
import { buildConfig, type Config } from "../../src/config/mod.ts";
import { serve, type Serving } from "../../src/http/server/serve.ts";
import { silentLogger } from "../../src/log.ts";
import { createRuntime, type Runtime, type RuntimeOptions } from "../../src/runtime.ts";

/** A running test registry. */
export interface TestRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as clients name the registry. */
  host: string;
  runtime: Runtime;
  config: Config;
  /** The HTTP server (`berth.http.server` picks Berth's listener or `Deno.serve`). */
  server: Serving;
  /** Temp directory of a `disk` registry. */
  dir?: string;
  close(): Promise<void>;
}

/** Options of {@linkcode startRegistry}. */
export interface StartOptions extends RuntimeOptions {
  /** `memory` (default) or `disk` (filesystem + KV file under `dir` or a temp dir). */
  storage?: "memory" | "disk";
  /** Data directory for `disk` (reused to test restarts). */
  dir?: string;
  /** Extra configuration, merged over the test defaults. */
  doc?: Record<string, unknown>;
  /** Sees every request before the application does (its headers, for assertions). */
  observe?: (request: Request) => void;
}

/** Starts a registry and returns once it listens. */
export async function startRegistry(options: StartOptions = {}): Promise<TestRegistry> {
  const storage = options.storage ?? "memory";
  const dir = storage === "disk"
    ? options.dir ?? await Deno.makeTempDir({ prefix: "berth-test-" })
    : undefined;
  const docStorage = (options.doc?.storage ?? {}) as Record<string, unknown>;
  const chosen = ["filesystem", "inmemory", "s3"].some((d) => d in docStorage);
  const base: Record<string, unknown> = storage === "disk"
    ? { storage: { filesystem: { rootdirectory: `${dir}/blobs` } }, berth: { datadir: dir } }
    : { storage: chosen ? {} : { inmemory: {} }, berth: { metadata: { driver: "memory" } } };
  const config = buildConfig(merge(base, options.doc ?? {}), {});
  const runtime = await createRuntime(config, { logger: silentLogger, ...options });
  const observe = options.observe;
  const server = serve((request, info) => {
    observe?.(request);
    return runtime.app.fetch(request, info);
  }, {
    hostname: "127.0.0.1",
    port: 0,
    server: config.berth.http.server,
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    url: `http://${host}`,
    host,
    runtime,
    config,
    server,
    dir,
    close: async () => {
      await server.shutdown();
      await runtime.close();
      if (dir && !options.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlain(prev) && isPlain(v) ? merge(prev, v) : v;
  }
  return out;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
