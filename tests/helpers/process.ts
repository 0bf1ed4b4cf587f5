/**
 * @module
 * Runs Berth as a real process (`deno run main.ts`) on 127.0.0.1 with a free port, for
 * tests that kill it, restart it, or run several instances side by side.
 */

/** A running Berth process. */
export interface BerthProcess {
  url: string;
  host: string;
  pid: number;
  /** Lines the process wrote to stdout/stderr so far. */
  output: string[];
  /** Sends a signal and waits for the process to end. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Resolves when the process has ended (its output read to the end). */
  exited: Promise<Deno.CommandStatus>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/**
 * Starts `main.ts` with `env` (REGISTRY_* settings) plus a loopback address on a free
 * port, and waits for its "listening" log line. `permissions` replaces `-A`.
 */
export function spawnBerth(
  env: Record<string, string>,
  permissions: string[] = ["-A"],
): Promise<BerthProcess> {
  return spawnExecutable(Deno.execPath(), ["run", "--config", CONFIG, ...permissions, MAIN], env);
}

/**
 * Starts any Berth executable (`deno run main.ts`, a compiled `berth`) with `args` and
 * `env`, as {@linkcode spawnBerth} does.
 */
export async function spawnExecutable(
  path: string,
  args: string[],
  env: Record<string, string>,
): Promise<BerthProcess> {
  const child = new Deno.Command(path, {
    args,
    env: { REGISTRY_HTTP_ADDR: "127.0.0.1:0", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  let resolveAddr!: (addr: string) => void;
  const addr = new Promise<string>((r) => resolveAddr = r);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let buffered = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        output.push(line);
        const m = /"msg":"listening","instance":"[^"]*","addr":"([^"]+)"/.exec(line) ??
          /"msg":"listening".*"addr":"([^"]+)"/.exec(line);
        if (m) resolveAddr(m[1]);
      }
    }
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  const timeout = setTimeout(() => resolveAddr(""), 20_000);
  const listening = await Promise.race([addr, status.then(() => "")]);
  clearTimeout(timeout);
  if (!listening) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await done;
    throw new Error(`Berth did not start:\n${output.join("\n")}`);
  }
  const host = listening.replace(/^0\.0\.0\.0:/, "127.0.0.1:");
  return {
    url: `http://${host}`,
    host,
    pid: child.pid,
    output,
    exited: status.then(async (s) => {
      await done;
      return s;
    }),
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      await status;
      await done;
    },
  };
}
