/**
 * @module
 * The two registries under test, started side by side on loopback: Berth (a real
 * `deno run -A main.ts` process, logs at `warn` so no request is logged) and CNCF
 * distribution 2.8.2 (Debian's `docker-registry`, log level `error`, access log off). Both
 * store blobs on the filesystem under the temp directory they are given. Every server
 * started here is tracked until stopped, so an interrupted run can stop them all.
 */

/** A registry the benchmark talks to. */
export interface Server {
  name: "berth" | "distribution";
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` (what `docker://` references name). */
  host: string;
  /** The server's own process (for Berth, the deno process: its RSS is Berth's). */
  pid: number;
  /** Sends SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

const ROOT = new URL("../", import.meta.url).pathname;
const live = new Set<{ stop(): Promise<void> }>();

/**
 * Tracks another process (s3rver) to stop with the servers; returns the function that
 * stops it and ends the tracking.
 */
export function track(stop: () => Promise<void>): () => Promise<void> {
  const entry = {
    stop: () => {
      live.delete(entry);
      return stop();
    },
  };
  live.add(entry);
  return entry.stop;
}

/** Stops every server still running (the run's `finally` and its signal handler). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop().catch(() => {})));
}

/** A loopback port nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Keeps the last few KiB a process writes, for the error message when it will not start. */
function tail(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-4096);
    }
  })().catch(() => {});
  return () => text;
}

/** Polls `GET /v2/` until it answers 200, the process exits, or 30 s pass. */
async function waitUp(url: string, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited()) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) return true;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Starts `cmd`, waits for its registry on `port`, and tracks it as a {@linkcode Server}. */
async function launch(
  name: Server["name"],
  port: number,
  command: Deno.Command,
): Promise<Server> {
  const child = command.spawn();
  const output = tail(child.stderr);
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const url = `http://127.0.0.1:${port}`;
  const server: Server = {
    name,
    url,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      live.delete(server);
      if (exited) return;
      const kill = (signal: Deno.Signal) => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      };
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 5_000);
      await status;
      clearTimeout(timer);
    },
  };
  live.add(server);
  if (!await waitUp(url, () => exited)) {
    await server.stop();
    throw new Error(`${name} did not answer GET /v2/ on port ${port}: ${output().slice(-600)}`);
  }
  return server;
}

/**
 * Starts Berth with its metadata under `dir` and its blobs in `dir/blobs` (or the storage
 * settings in `env`, which win).
 */
export function startBerth(dir: string, env: Record<string, string> = {}): Promise<Server> {
  const port = freePort();
  return launch(
    "berth",
    port,
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}main.ts`],
      cwd: ROOT,
      env: {
        NO_COLOR: "1",
        REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
        REGISTRY_BERTH_DATADIR: dir,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
        REGISTRY_LOG_LEVEL: "warn",
        REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
        ...env,
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }),
  );
}

/** distribution's `storage:` lines for an S3-compatible endpoint (s3rver's keys). */
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
 * Starts distribution 2.8.2 from a generated `config.yml` in `dir`, storing on the
 * filesystem under `dir/data` unless `storage` lines are given ({@linkcode distributionS3});
 * `extra` lines are appended (a `proxy:` section).
 */
export async function startDistribution(
  dir: string,
  storage?: string[],
  extra: string[] = [],
): Promise<Server> {
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
      ...extra,
      "",
    ].join("\n"),
  );
  // distribution's s3 driver panics at start-up when AWS_CA_BUNDLE is set.
  const env = Deno.env.toObject();
  delete env.AWS_CA_BUNDLE;
  return launch(
    "distribution",
    port,
    new Deno.Command("docker-registry", {
      args: ["serve", config],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }),
  );
}

/**
 * Resident memory of a process, in MiB: its peak (`VmHWM`) and current (`VmRSS`) totals,
 * and the current total split into private memory (`RssAnon`: heaps, buffers, stacks)
 * and pages of files (`RssFile` + `RssShmem`: mostly the executable's own code, which
 * the kernel can drop and read back).
 */
export async function memory(
  pid: number,
): Promise<{ peak: number; current: number; anon: number; file: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    peak: kib("VmHWM") / 1024,
    current: kib("VmRSS") / 1024,
    anon: kib("RssAnon") / 1024,
    file: (kib("RssFile") + kib("RssShmem")) / 1024,
  };
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** `getconf CLK_TCK` on every Linux there is. */
const CLOCK_TICKS = 100;

/** What {@linkcode sampleRss} saw, in MiB. */
export interface RssSamples {
  /** Largest `VmRSS` sample. */
  maxSampled: number;
  mean: number;
  last: number;
  /** The kernel's own peak (`VmHWM`), which also sees between samples. */
  peak: number;
  /** Largest private (`RssAnon`) and file-backed samples (see {@linkcode memory}). */
  maxAnon: number;
  maxFile: number;
  samples: number;
}

/** Samples a process's resident memory every `ms` until stopped. */
export function sampleRss(pid: number, ms = 100): { stop(): Promise<RssSamples> } {
  let maxSampled = 0;
  let maxAnon = 0;
  let maxFile = 0;
  let sum = 0;
  let samples = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const m = await memory(pid);
      maxSampled = Math.max(maxSampled, m.current);
      maxAnon = Math.max(maxAnon, m.anon);
      maxFile = Math.max(maxFile, m.file);
      sum += m.current;
      samples++;
    } catch { /* process gone */ }
    busy = false;
  }, ms);
  return {
    async stop() {
      clearInterval(timer);
      const m = await memory(pid);
      return {
        maxSampled: Math.max(maxSampled, m.current),
        mean: samples ? sum / samples : m.current,
        last: m.current,
        peak: m.peak,
        maxAnon: Math.max(maxAnon, m.anon),
        maxFile: Math.max(maxFile, m.file),
        samples,
      };
    },
  };
}
