/**
 * @module
 * Thin wrappers over the clients the benchmark drives: curl for transfers (a C client
 * streaming from files with `Content-Length` set, so the client costs the same for both
 * registries and is not the bottleneck), wrk and hey for request rates, skopeo for whole
 * images. Every wrapper checks the status it expects and throws otherwise.
 */

/** Runs a command; returns its stdout and wall time in seconds, or throws with its stderr. */
export async function run(cmd: string, args: string[]): Promise<{ out: string; seconds: number }> {
  const t = performance.now();
  const res = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const seconds = (performance.now() - t) / 1000;
  const out = new TextDecoder().decode(res.stdout);
  if (res.code !== 0) {
    const err = new TextDecoder().decode(res.stderr).trim().slice(-300);
    throw new Error(`${cmd} exited with ${res.code}: ${err}`);
  }
  return { out, seconds };
}

/** One curl request: its status, response headers and wall time in seconds. */
export async function curl(
  args: string[],
): Promise<{ status: number; headers: Headers; seconds: number }> {
  const { out, seconds } = await run("curl", ["-s", "-o", "/dev/null", "-D", "-", ...args]);
  // With `Expect: 100-continue` the interim response comes first: keep the last block.
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

/** Resolves a `Location` header against the registry URL. */
export function absolute(base: string, location: string | null): string {
  if (!location) throw new Error("The response has no Location header");
  return new URL(location, base).href;
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u.href;
}

async function startUpload(base: string, repo: string): Promise<string> {
  const post = await curl(["-X", "POST", `${base}/v2/${repo}/blobs/uploads/`]);
  if (post.status !== 202) throw new Error(`POST upload answered ${post.status}`);
  return absolute(base, post.headers.get("location"));
}

/** `POST` a session, then `PUT ?digest=` with the whole file; returns seconds for both. */
export async function pushMonolithic(
  base: string,
  repo: string,
  file: string,
  digest: string,
): Promise<number> {
  const t = performance.now();
  const location = await startUpload(base, repo);
  const put = await curl([
    "-X",
    "PUT",
    "-H",
    "Content-Type: application/octet-stream",
    "-T",
    file,
    withDigest(location, digest),
  ]);
  if (put.status !== 201) throw new Error(`PUT ?digest= answered ${put.status}`);
  return (performance.now() - t) / 1000;
}

/**
 * PATCHes each chunk file with `Content-Range` from `offset`, following the `Location`s;
 * returns where the upload continues, how far it got and the seconds of each PATCH.
 */
export async function patchChunks(
  base: string,
  location: string,
  chunks: string[],
  offset = 0,
): Promise<{ location: string; offset: number; seconds: number[] }> {
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
    if (res.status !== 202) throw new Error(`PATCH at offset ${offset} answered ${res.status}`);
    location = absolute(base, res.headers.get("location"));
    offset += size;
    seconds.push(res.seconds);
  }
  return { location, offset, seconds };
}

/**
 * `POST`, one `PATCH` per chunk file, `PUT ?digest=` without a body. Returns the total
 * seconds and those of the closing `PUT` alone (where a registry verifies and links).
 */
export async function pushChunked(
  base: string,
  repo: string,
  chunks: string[],
  digest: string,
): Promise<{ total: number; commit: number }> {
  const t = performance.now();
  const { location } = await patchChunks(base, await startUpload(base, repo), chunks);
  const commit = performance.now();
  const put = await curl(["-X", "PUT", withDigest(location, digest)]);
  if (put.status !== 201) throw new Error(`closing PUT ?digest= answered ${put.status}`);
  const end = performance.now();
  return { total: (end - t) / 1000, commit: (end - commit) / 1000 };
}

/** `GET` a whole blob into /dev/null; returns seconds. */
export async function pull(base: string, repo: string, digest: string): Promise<number> {
  const res = await curl([`${base}/v2/${repo}/blobs/${digest}`]);
  if (res.status !== 200) throw new Error(`GET blob answered ${res.status}`);
  return res.seconds;
}

/**
 * `count` sequential range `GET`s of `length` bytes at spread-out offsets, from one curl
 * process over one kept-alive connection. Returns requests per second (wall time) and
 * the median latency in ms as curl measured it.
 */
export async function ranges(
  url: string,
  blobSize: number,
  length: number,
  count: number,
): Promise<{ perSecond: number; medianMs: number }> {
  const args = ["-s"];
  for (let i = 0; i < count; i++) {
    // A stride coprime with the blob's MiB count visits offsets all over the blob.
    const start = (i * 7 * length) % (blobSize - length);
    if (i > 0) args.push("--next");
    args.push("-o", "/dev/null", "-w", "%{http_code} %{time_total}\\n");
    args.push("-r", `${start}-${start + length - 1}`, url);
  }
  const { out, seconds } = await run("curl", args);
  const lines = out.trim().split("\n").map((l) => l.split(" "));
  const bad = lines.find(([status]) => status !== "206");
  if (bad) throw new Error(`range GET answered ${bad[0]}`);
  if (lines.length !== count) throw new Error(`curl made ${lines.length} of ${count} requests`);
  const ms = lines.map(([, t]) => Number(t) * 1000).sort((a, b) => a - b);
  return { perSecond: count / seconds, medianMs: ms[Math.floor(count / 2)] };
}

/**
 * Requests per second at 32 connections for `seconds`: `wrk -t2 -c32` for GET; `hey -c 32`
 * for HEAD, because wrk's parser waits for the body a HEAD response's `Content-Length`
 * announces and never gets.
 */
export async function rate(
  url: string,
  method: "GET" | "HEAD",
  seconds: number,
  accept?: string,
): Promise<number> {
  const header = accept ? ["-H", `Accept: ${accept}`] : [];
  const { out } = method === "GET"
    ? await run("wrk", ["-t2", "-c32", `-d${seconds}s`, ...header, url])
    : await run("hey", ["-c", "32", "-z", `${seconds}s`, "-m", "HEAD", ...header, url]);
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  // wrk counts non-2xx answers as requests; a registry answering 404 fast is no win.
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ??
    /\[(?!2\d\d)(\d{3})\]\s+(\d+) responses/.exec(out)?.[2];
  if (non2xx) throw new Error(`${non2xx} responses were not 2xx`);
  if (!(perSecond > 0)) throw new Error(`no requests/sec in the output: ${out.slice(0, 200)}`);
  return perSecond;
}

/** `skopeo copy` with an accept-anything policy and plain HTTP; returns seconds. */
export async function skopeoCopy(policy: string, args: string[]): Promise<number> {
  return (await run("skopeo", ["--policy", policy, "copy", "--quiet", ...args])).seconds;
}
