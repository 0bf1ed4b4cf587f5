/**
 * @module
 * Starts a real S3-compatible server for tests: s3rver from `tools/node_modules`, run by
 * `node` on 127.0.0.1 with a free port, a temp data directory and one bucket, extended
 * with the multipart calls it lacks (see `s3rver_main.cjs`).
 */
import { fileURLToPath } from "node:url";

/** A running s3rver. */
export interface S3rver {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  bucket: string;
  /** Its data directory (objects live under `<dir>/<bucket>/`). */
  dir: string;
  /** Options for `S3BlobDriver` that reach this server. */
  options: {
    region: string;
    bucket: string;
    regionendpoint: string;
    forcepathstyle: boolean;
    accesskey: string;
    secretkey: string;
    rootdirectory: string;
    chunksize: number;
    secure: boolean;
  };
  /** Kills the server and removes its data. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startS3rver}. */
export interface StartS3rverOptions {
  bucket?: string;
  /** Largest ListParts page the server returns (S3 returns 1000), to exercise paging. */
  maxParts?: number;
  /** Largest ListObjectsV2 page the server returns (S3 returns 1000). */
  maxKeys?: number;
}

const MAIN = fileURLToPath(new URL("./s3rver_main.cjs", import.meta.url));
const MODULE = fileURLToPath(new URL("../../tools/node_modules/s3rver", import.meta.url));

/** Starts s3rver and resolves once it answers requests for the bucket. */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rver> {
  const bucket = options.bucket ?? "berth-test";
  const dir = await Deno.makeTempDir({ prefix: "berth-s3rver-" });
  const child = new Deno.Command("node", {
    args: [MAIN, MODULE, dir, "0", bucket],
    env: {
      NODE_OPTIONS: "--openssl-legacy-provider",
      S3RVER_MAX_PARTS: String(options.maxParts ?? 1000),
      S3RVER_MAX_KEYS: String(options.maxKeys ?? 1000),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3_000);
    await child.status;
    clearTimeout(timer);
    await stderr.catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const port = await readyPort(child.stdout);
    const endpoint = `http://127.0.0.1:${port}`;
    await waitForBucket(`${endpoint}/${bucket}`);
    return {
      endpoint,
      bucket,
      dir,
      options: {
        region: "us-east-1",
        bucket,
        regionendpoint: endpoint,
        forcepathstyle: true,
        accesskey: "S3RVER",
        secretkey: "S3RVER",
        rootdirectory: "/registry",
        chunksize: 5 * 1024 * 1024,
        secure: false,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`s3rver did not start: ${(err as Error).message}\n${await stderr}`);
  }
}

/** Reads stdout until the `S3RVER_READY <port>` line, then drains the rest. */
async function readyPort(stdout: ReadableStream<Uint8Array>): Promise<number> {
  const lines = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = setTimeout(() => lines.cancel(new Error("no ready line in 15 s")), 15_000);
  try {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`s3rver exited before it was ready: ${seen}`);
      seen += value;
      const match = /S3RVER_READY (\d+)/.exec(seen);
      if (match) {
        // Keep draining so the child never blocks on a full pipe.
        (async () => {
          while (!(await lines.read().catch(() => ({ done: true }))).done) { /* drain */ }
        })();
        return Number(match[1]);
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

async function waitForBucket(url: string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(url, { method: "HEAD" });
      await response.body?.cancel();
      if (response.ok) return;
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`${url} did not answer within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
