/**
 * @module
 * CNCF distribution 2.8.2 (Debian's `docker-registry`) as a real upstream for mirror
 * tests: filesystem storage in a temp directory, optionally htpasswd (Basic) auth or a
 * `proxy:` section of its own, on a loopback port it keeps when stopped and started
 * again (an outage).
 */

/** A running distribution. */
export interface Distribution {
  url: string;
  host: string;
  /** The generated config.yml. */
  config: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

/** Options of {@linkcode startDistribution}. */
export interface DistributionOptions {
  /** An htpasswd file (bcrypt entries): Basic auth. */
  htpasswd?: string;
  /** Lines of a `proxy:` section (indented by two spaces). */
  proxy?: string[];
}

/** A loopback port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts distribution and waits until `GET /v2/` answers. */
export async function startDistribution(options: DistributionOptions = {}): Promise<Distribution> {
  const dir = await Deno.makeTempDir({ prefix: "berth-distribution-" });
  const port = freePort();
  const config = `${dir}/config.yml`;
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${dir}/data`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.htpasswd) {
    lines.push("auth:", "  htpasswd:", "    realm: basic-realm", `    path: ${options.htpasswd}`);
  }
  if (options.proxy) lines.push("proxy:", ...options.proxy);
  await Deno.writeTextFile(config, lines.join("\n") + "\n");
  const url = `http://127.0.0.1:${port}`;
  let child: Deno.ChildProcess | null = null;
  const start = async () => {
    const env = Deno.env.toObject();
    delete env.AWS_CA_BUNDLE;
    child = new Deno.Command("docker-registry", {
      args: ["serve", config],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/v2/`);
        await res.body?.cancel();
        if (res.status === 200 || res.status === 401) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`distribution did not start on port ${port}`);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running) return;
    try {
      running.kill("SIGTERM");
    } catch { /* already gone */ }
    await running.status;
  };
  await start();
  return {
    url,
    host: `127.0.0.1:${port}`,
    config,
    start,
    stop,
    close: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
