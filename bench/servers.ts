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

/**
 * Starts Berth with its data under `dir` (the filesystem, or the S3 settings in `env`),
 * request logs off (distribution logs none).
 */
export async function startBerth(dir: string, env: Record<string, string> = {}): Promise<Server> {
  const berth: BerthProcess = await spawnBerth({
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
    ...env,
  });
  return { name: "berth", ...berth, stop: () => berth.kill("SIGTERM") };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** distribution's `storage:` section for an S3-compatible endpoint. */
export function distributionS3(s3: { endpoint: string; bucket: string }, root: string): string[] {
  return [
    "  s3:",
    "    region: us-east-1",
    `    bucket: ${s3.bucket}`,
    `    regionendpoint: ${s3.endpoint}`,
    "    forcepathstyle: true",
    "    accesskey: S3RVER",
    "    secretkey: S3RVER",
    "    secure: false",
    `    rootdirectory: /${root}`,
    "    chunksize: 5242880",
  ];
}

/**
 * Starts distribution 2.8.2 with its data under `dir`, on the filesystem or with the
 * `storage` lines given (see {@linkcode distributionS3}).
 */
export async function startDistribution(dir: string, storage?: string[]): Promise<Server> {
  const port = freePort();
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
      ...(storage ?? ["  filesystem:", `    rootdirectory: ${dir}/data`]),
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  // distribution's s3 driver panics at start-up when AWS_CA_BUNDLE is set.
  const env = Deno.env.toObject();
  delete env.AWS_CA_BUNDLE;
  const child = new Deno.Command("docker-registry", {
    args: ["serve", config],
    stdout: "null",
    stderr: "piped",
    env,
    clearEnv: true,
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const url = `http://127.0.0.1:${port}`;
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      up = res.ok;
    } catch { /* not yet */ }
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw new Error(`distribution did not start: ${(await stderr).slice(0, 300)}`);
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
      await stderr.catch(() => "");
    },
  };
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a process, in MiB. */
export async function memory(pid: number): Promise<{ peak: number; current: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peak: kb("VmHWM") / 1024, current: kb("VmRSS") / 1024 };
}
