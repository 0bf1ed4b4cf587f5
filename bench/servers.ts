/**
 * @module
 * The two registries under test, started side by side on loopback: Berth (a real
 * `deno run main.ts` process) and CNCF distribution 2.8.2 (Debian's `docker-registry`).
 */
import { type BerthProcess, spawnBerth } from "../tests/helpers/process.ts";

/** A registry the benchmark talks to. */
export interface Server {
  name: string;
  url: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts Berth on the filesystem under `dir`, request logs off (distribution logs none). */
export async function startBerth(dir: string): Promise<Server> {
  const berth: BerthProcess = await spawnBerth({
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
  });
  return { name: "berth", ...berth, stop: () => berth.kill("SIGTERM") };
}

async function freePort(): Promise<number> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** Starts distribution 2.8.2 on the filesystem under `dir`. */
export async function startDistribution(dir: string): Promise<Server> {
  const port = await freePort();
  await Deno.mkdir(dir, { recursive: true });
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(
    config,
    [
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
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", config],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    name: "distribution",
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await child.stderr.cancel().catch(() => {});
    },
  };
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export async function memory(pid: number): Promise<{ peak: number; current: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peak: kb("VmHWM") / 1024, current: kb("VmRSS") / 1024 };
}
