/**
 * @module
 * Thin wrappers over the load tools the benchmark drives: curl for large transfers (a C
 * client, so the client costs the same for both registries), wrk and hey for request
 * rates, and skopeo for whole-image pushes and pulls.
 */

/** Runs a command; returns stdout and the wall time in seconds. */
export async function run(cmd: string, args: string[]): Promise<{ out: string; seconds: number }> {
  const t = performance.now();
  const res = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const seconds = (performance.now() - t) / 1000;
  const out = new TextDecoder().decode(res.stdout);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(res.stderr)}`);
  }
  return { out, seconds };
}

/** `curl` returning the status code and response headers (lower-cased names). */
export async function curl(
  args: string[],
): Promise<{ status: number; headers: Headers; seconds: number }> {
  const { out, seconds } = await run("curl", ["-s", "-o", "/dev/null", "-D", "-", ...args]);
  const blocks = out.trim().split(/\r?\n\r?\n/);
  const lines = blocks[blocks.length - 1].split(/\r?\n/);
  const status = Number(lines[0].split(" ")[1]);
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return { status, headers, seconds };
}

/** Resolves a Location header against the registry URL. */
export function absolute(base: string, location: string | null): string {
  if (!location) throw new Error("No Location header");
  return new URL(location, base).href;
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u.href;
}

/** POST a session, then PUT the whole file with `?digest=`. */
export async function pushMonolithic(base: string, repo: string, file: string, digest: string) {
  const post = await curl(["-X", "POST", `${base}/v2/${repo}/blobs/uploads/`]);
  const location = absolute(base, post.headers.get("location"));
  const t = performance.now();
  const put = await curl([
    "-X",
    "PUT",
    "-H",
    "Content-Type: application/octet-stream",
    "-T",
    file,
    withDigest(location, digest),
  ]);
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
  return (performance.now() - t) / 1000 + post.seconds;
}

/**
 * PATCHes each chunk file with `Content-Range` from `offset`, following the `Location`s;
 * returns where the upload continues, how far it got and the time of each PATCH.
 */
export async function patchChunks(base: string, location: string, chunks: string[], offset = 0) {
  const seconds: number[] = [];
  for (const chunk of chunks) {
    const size = (await Deno.stat(chunk)).size;
    const res = await curl([
      "-X",
      "PATCH",
      "-H",
      "Content-Type: application/octet-stream",
      "-H",
      `Content-Range: ${offset}-${offset + size - 1}`,
      "-T",
      chunk,
      location,
    ]);
    if (res.status !== 202) throw new Error(`PATCH answered ${res.status}`);
    location = absolute(base, res.headers.get("location"));
    offset += size;
    seconds.push(res.seconds);
  }
  return { location, offset, seconds };
}

/** POST a session, PATCH each chunk file with `Content-Range`, PUT `?digest=`. */
export async function pushChunked(base: string, repo: string, chunks: string[], digest: string) {
  const t = performance.now();
  const post = await curl(["-X", "POST", `${base}/v2/${repo}/blobs/uploads/`]);
  const { location } = await patchChunks(
    base,
    absolute(base, post.headers.get("location")),
    chunks,
  );
  const commit = performance.now();
  const put = await curl(["-X", "PUT", withDigest(location, digest)]);
  if (put.status !== 201) throw new Error(`PUT answered ${put.status}`);
  const end = performance.now();
  return { total: (end - t) / 1000, commit: (end - commit) / 1000 };
}

/** GET a blob to /dev/null (optionally a range); returns seconds. */
export async function pull(base: string, repo: string, digest: string, range?: string) {
  const res = await curl([
    ...(range ? ["-H", `Range: ${range}`] : []),
    `${base}/v2/${repo}/blobs/${digest}`,
  ]);
  if (res.status !== 200 && res.status !== 206) throw new Error(`GET answered ${res.status}`);
  return res.seconds;
}

/** Requests per second from `wrk` (GET) or `hey` (HEAD: wrk waits for bodies HEAD lacks). */
export async function rate(url: string, method: "GET" | "HEAD", seconds: number, accept?: string) {
  if (method === "GET") {
    const args = [
      "-t2",
      "-c32",
      `-d${seconds}s`,
      ...(accept ? ["-H", `Accept: ${accept}`] : []),
      url,
    ];
    const { out } = await run("wrk", args);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  }
  const args = [
    "-c",
    "32",
    "-z",
    `${seconds}s`,
    "-m",
    "HEAD",
    ...(accept ? ["-H", `Accept: ${accept}`] : []),
    url,
  ];
  const { out } = await run("hey", args);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
}
