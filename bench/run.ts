/**
 * @module
 * `deno task bench`: the same scenarios against Berth and CNCF distribution 2.8.2, side by
 * side on loopback, in one run; prints each figure and the ratio (above 1 means Berth is
 * better), and Berth's peak memory while moving a large blob.
 *
 * Flags: `--quick` (small sizes, one repeat), `--only=transfer,skopeo,rate,resume,rss,s3`.
 */
import { createHash } from "node:crypto";
import { Layout } from "../tests/helpers/images.ts";
import { putManifest } from "../tests/helpers/oci.ts";
import {
  absolute,
  curl,
  patchChunks,
  pull,
  pushChunked,
  pushMonolithic,
  rate,
  run,
} from "./clients.ts";
import { distributionS3, memory, type Server, startBerth, startDistribution } from "./servers.ts";
import { startS3rver } from "../tests/helpers/s3rver.ts";
import { s3Env } from "../tests/helpers/s3_env.ts";

const MiB = 1024 * 1024;
const quick = Deno.args.includes("--quick");
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const want = (name: string) => !only || only.includes(name);
const repeats = quick ? 1 : 3;
const blobSize = quick ? 32 * MiB : 256 * MiB;
const chunkSize = 16 * MiB;
const rssBlob = quick ? 256 * MiB : 1024 * MiB;
const s3RssBlob = quick ? 256 * MiB : 2048 * MiB;
const rateSeconds = quick ? 2 : 5;

interface Row {
  scenario: string;
  unit: string;
  berth: number;
  distribution: number | null;
  /** true when smaller figures are better (times). */
  lowerIsBetter: boolean;
  target: string;
  note?: string;
}
const rows: Row[] = [];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function makeFile(path: string, size: number): Promise<string> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const hash = createHash("sha256");
  const buf = new Uint8Array(MiB);
  for (let done = 0; done < size; done += MiB) {
    for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(buf.subarray(i, i + 65536));
    hash.update(buf);
    await file.write(buf);
  }
  file.close();
  return "sha256:" + hash.digest("hex");
}

async function split(path: string, size: number): Promise<string[]> {
  const src = await Deno.open(path);
  const out: string[] = [];
  const buf = new Uint8Array(size);
  for (let i = 0;; i++) {
    let n = 0;
    while (n < size) {
      const r = await src.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    if (n === 0) break;
    const name = `${path}.${String(i).padStart(4, "0")}`;
    await Deno.writeFile(name, buf.subarray(0, n));
    out.push(name);
  }
  src.close();
  return out;
}

/** Runs `measure` on both servers, alternating, `repeats` times; records medians. */
async function compare(
  servers: Server[],
  scenario: string,
  unit: string,
  lowerIsBetter: boolean,
  target: string,
  measure: (s: Server, i: number) => Promise<number>,
  times = repeats,
) {
  const results: Record<string, number[]> = { berth: [], distribution: [] };
  const notes: string[] = [];
  for (let i = 0; i < times; i++) {
    for (const s of servers) {
      try {
        results[s.name].push(await measure(s, i));
      } catch (err) {
        notes.push(`${s.name}: ${(err as Error).message.slice(0, 120)}`);
      }
    }
  }
  const d = results.distribution.length ? median(results.distribution) : null;
  rows.push({
    scenario,
    unit,
    berth: median(results.berth),
    distribution: d,
    lowerIsBetter,
    target,
    note: notes[0],
  });
  console.error(
    `  ${scenario}: berth ${median(results.berth).toFixed(2)} ${unit}, distribution ${
      d?.toFixed(2) ?? "n/a"
    }`,
  );
}

/**
 * Push (monolithic and chunked, the closing PUT timed apart) and pull of the test blob,
 * on `servers`; `label` prefixes the scenario names ("" for the filesystem).
 */
async function transfers(
  servers: Server[],
  label: string,
  data: { file: string; digest: string; chunks: string[] },
  ranges: boolean,
) {
  const name = (what: string) => (label ? `${label}: ${what}` : what);
  const repo = (what: string) => `bench/${label.toLowerCase()}${what}`;
  const mbps = (seconds: number) => blobSize / MiB / seconds;
  await compare(
    servers,
    name(`push ${blobSize / MiB} MiB monolithic`),
    "MB/s",
    false,
    ">= 1.5x",
    async (s, i) => mbps(await pushMonolithic(s.url, repo(`mono${i}`), data.file, data.digest)),
  );
  const commits: Record<string, number[]> = {};
  await compare(
    servers,
    name(`push ${blobSize / MiB} MiB in 16 MiB chunks`),
    "MB/s",
    false,
    ">= 1.5x",
    async (s, i) => {
      const r = await pushChunked(s.url, repo(`chunked${i}`), data.chunks, data.digest);
      (commits[s.name] ??= []).push(r.commit * 1000);
      return mbps(r.total);
    },
  );
  rows.push({
    scenario: `  ${name("of which the closing PUT")}`,
    unit: "ms",
    berth: median(commits.berth ?? [NaN]),
    distribution: commits.distribution ? median(commits.distribution) : null,
    lowerIsBetter: true,
    target: "",
  });
  for (const s of servers) {
    await pushMonolithic(s.url, repo("pull"), data.file, data.digest).catch(() => {});
  }
  await compare(
    servers,
    name(`pull ${blobSize / MiB} MiB`),
    "MB/s",
    false,
    ">= 1.0x",
    async (s) => mbps(await pull(s.url, repo("pull"), data.digest)),
    repeats * 3, // reads from the page cache are quick and noisy here: more samples
  );
  if (!ranges) return;
  await compare(
    servers,
    name("pull 1 MiB range (x50, sequential)"),
    "req/s",
    false,
    ">= 1.0x",
    async (s) => {
      const t = performance.now();
      for (let i = 0; i < 50; i++) {
        const start = (i * 7 * MiB) % (blobSize - MiB);
        await pull(s.url, repo("pull"), data.digest, `bytes=${start}-${start + MiB - 1}`);
      }
      return 50 / ((performance.now() - t) / 1000);
    },
  );
}

const root = await Deno.makeTempDir({ prefix: "berth-bench-" });
let servers: Server[] = [];
try {
  console.error(`preparing ${blobSize / MiB} MiB test data in ${root}`);
  const big = `${root}/blob.bin`;
  const digest = await makeFile(big, blobSize);
  const chunks = await split(big, chunkSize);
  servers = [await startBerth(`${root}/berth`), await startDistribution(`${root}/distribution`)];

  const data = { file: big, digest, chunks };
  if (want("transfer")) await transfers(servers, "", data, true);
  if (want("skopeo")) {
    const layerSize = quick ? 512 * 1024 : 8 * MiB;
    const policy = `${root}/policy.json`;
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
    const skopeo = (...args: string[]) => run("skopeo", ["--policy", policy, "copy", ...args]);
    // A new image for every repeat: skopeo remembers where it saw a blob and would mount
    // it from an earlier repository instead of pushing it again.
    const layouts: Layout[] = [];
    console.error(
      `building ${repeats} images of 25 layers, ${(25 * layerSize / MiB).toFixed(0)} MiB each`,
    );
    for (let i = 0; i < repeats; i++) {
      const layout = await Layout.create();
      await layout.tag(await layout.image(Array(25).fill(layerSize)), "bench");
      layouts.push(layout);
    }
    await compare(
      servers,
      "skopeo push 25 layers",
      "s",
      true,
      ">= 1.5x",
      async (s, i) =>
        (await skopeo(
          "--dest-tls-verify=false",
          `oci:${layouts[i].dir}:bench`,
          `docker://${s.host}/bench/img${i}:t`,
        ))
          .seconds,
    );
    // What skopeo spends on its own (reading the layout, digests, writing): the part of
    // both figures above that no registry can make faster.
    const floor: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const out = `${root}/floor-${i}`;
      floor.push((await skopeo(`oci:${layouts[i].dir}:bench`, `dir:${out}`)).seconds);
      await Deno.remove(out, { recursive: true });
    }
    rows.push({
      scenario: "  skopeo alone (same copy into a local dir)",
      unit: "s",
      berth: median(floor),
      distribution: null,
      lowerIsBetter: true,
      target: "",
    });
    // skopeo's own work (files, digests) dominates a pull: take more samples.
    await compare(servers, "skopeo pull 25 layers", "s", true, ">= 1.0x", async (s, i) => {
      const out = `${root}/pulled-${s.name}-${i}`;
      const r = await skopeo(
        "--src-tls-verify=false",
        `docker://${s.host}/bench/img${i % repeats}:t`,
        `oci:${out}:t`,
      );
      await Deno.remove(out, { recursive: true });
      return r.seconds;
    }, repeats * 3);
    for (const layout of layouts) await layout.remove();
  }
  if (want("rate")) {
    const accept = "application/vnd.oci.image.manifest.v1+json";
    const seeded: Record<string, string> = {};
    for (const s of servers) {
      // distribution 2.8.2 has no single-POST upload, so seed with POST + PUT.
      const layer = `${root}/small-layer`;
      const layerDigest = await makeFile(layer, MiB);
      const config = `${root}/small-config`;
      await Deno.writeTextFile(config, '{"architecture":"amd64","os":"linux"}');
      const configDigest = "sha256:" +
        createHash("sha256").update(await Deno.readFile(config)).digest("hex");
      await pushMonolithic(s.url, "bench/small", layer, layerDigest);
      await pushMonolithic(s.url, "bench/small", config, configDigest);
      const manifest = {
        schemaVersion: 2,
        mediaType: accept,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: (await Deno.stat(config)).size,
        },
        layers: [{
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: layerDigest,
          size: MiB,
        }],
      };
      const res = await putManifest(s.url, "bench/small", "latest", manifest, accept);
      if (res.status !== 201) {
        throw new Error(`seeding ${s.name}: ${res.status} ${await res.text()}`);
      }
      seeded[s.name] = layerDigest;
    }
    const cases: [string, "GET" | "HEAD", (s: Server) => string, string?][] = [
      ["GET /v2/", "GET", (s) => `${s.url}/v2/`],
      ["HEAD manifest by tag", "HEAD", (s) => `${s.url}/v2/bench/small/manifests/latest`, accept],
      ["GET manifest by tag", "GET", (s) => `${s.url}/v2/bench/small/manifests/latest`, accept],
      ["GET tags list", "GET", (s) => `${s.url}/v2/bench/small/tags/list`],
      ["HEAD blob", "HEAD", (s) => `${s.url}/v2/bench/small/blobs/${seeded[s.name]}`],
    ];
    for (const [name, method, url, acc] of cases) {
      await compare(
        servers,
        `${name} (32 conns)`,
        "req/s",
        false,
        ">= 3x",
        (s) => rate(url(s), method, rateSeconds, acc),
      );
    }
  }
  if (want("resume")) {
    // What the digest-state choice costs. Live states (node:crypto) make a restarted
    // process re-hash what an unfinished upload already holds, once; portable states
    // (hash-wasm) hash every byte more slowly but never re-read anything.
    const half = chunks.slice(0, chunks.length / 2);
    const held = half.length * chunkSize;
    const dir = `${root}/berth-resume`;
    let berth = await startBerth(dir);
    const post = await curl(["-X", "POST", `${berth.url}/v2/bench/resume/blobs/uploads/`]);
    const first = await patchChunks(
      berth.url,
      absolute(berth.url, post.headers.get("location")),
      half,
    );
    const path = new URL(first.location).pathname + new URL(first.location).search;
    await berth.stop();
    berth = await startBerth(dir);
    const next = chunks.slice(half.length, half.length + 2);
    const { seconds: [cold, warm] } = await patchChunks(
      berth.url,
      berth.url + path,
      next,
      first.offset,
    );
    await berth.stop();
    rows.push({
      scenario: `resume after a restart: a ${chunkSize / MiB} MiB PATCH re-hashing ${
        held / MiB
      } MiB (live state)`,
      unit: "ms",
      berth: cold * 1000,
      distribution: null,
      lowerIsBetter: true,
      target: "",
      note: warm === undefined
        ? undefined
        : `the next PATCH, state in memory: ${(warm * 1000).toFixed(0)} ms`,
    });
    const portable = await startBerth(`${root}/berth-portable`, {
      REGISTRY_BERTH_UPLOADS_HASHING: "portable",
    });
    const live = await startBerth(`${root}/berth-live`);
    for (const [name, s] of [["portable", portable], ["live", live]] as const) {
      const r = await pushChunked(s.url, `bench/${name}`, chunks, digest);
      rows.push({
        scenario: `push ${blobSize / MiB} MiB in 16 MiB chunks, ${name} digest states`,
        unit: "MB/s",
        berth: blobSize / MiB / r.total,
        distribution: null,
        lowerIsBetter: false,
        target: "",
      });
      await s.stop();
    }
  }
  if (want("rss")) {
    // A fresh Berth, so its peak is this scenario's own.
    await servers[0].stop();
    servers[0] = await startBerth(`${root}/berth-rss`);
    const berth = servers[0];
    const file = `${root}/rss.bin`;
    const rssDigest = await makeFile(file, rssBlob);
    const rssChunks = await split(file, chunkSize);
    const before = await memory(berth.pid);
    await pushMonolithic(berth.url, "bench/rss1", file, rssDigest);
    await pushChunked(berth.url, "bench/rss2", rssChunks, rssDigest);
    await pull(berth.url, "bench/rss1", rssDigest);
    const after = await memory(berth.pid);
    rows.push({
      scenario: `Berth peak RSS moving a ${rssBlob / MiB} MiB blob (push, chunked push, pull)`,
      unit: "MiB",
      berth: after.peak,
      distribution: null,
      lowerIsBetter: true,
      target: "< 150 MiB",
      note: `idle peak before: ${before.peak.toFixed(0)} MiB`,
    });
  }
  if (want("s3")) {
    // Both registries on the same s3rver. distribution 2.8.2's s3 driver gets 500s from
    // s3rver on uploads; its rows then say n/a with the reason.
    const s3 = await startS3rver();
    const s3servers: Server[] = [];
    try {
      s3servers.push(
        await startBerth(
          `${root}/berth-s3`,
          s3Env(s3, "berth", { REGISTRY_BERTH_METADATA_PATH: `${root}/berth-s3/meta.kv` }),
        ),
      );
      try {
        s3servers.push(
          await startDistribution(`${root}/distribution-s3`, distributionS3(s3, "distribution")),
        );
      } catch (err) {
        console.error(`  distribution on s3 did not start: ${(err as Error).message}`);
      }
      await transfers(s3servers, "S3", data, false);
      if (want("rss") || only?.includes("s3")) {
        await s3servers[0].stop();
        s3servers[0] = await startBerth(
          `${root}/berth-s3-rss`,
          s3Env(s3, "rss", { REGISTRY_BERTH_METADATA_PATH: `${root}/berth-s3-rss/meta.kv` }),
        );
        const file = `${root}/s3rss.bin`;
        const rssDigest = await makeFile(file, s3RssBlob);
        const t = performance.now();
        await pushMonolithic(s3servers[0].url, "bench/s3rss", file, rssDigest);
        const seconds = (performance.now() - t) / 1000;
        await Deno.remove(file);
        rows.push({
          scenario: `Berth peak RSS pushing a ${s3RssBlob / MiB} MiB blob through S3`,
          unit: "MiB",
          berth: (await memory(s3servers[0].pid)).peak,
          distribution: null,
          lowerIsBetter: true,
          target: "< 200 MiB",
          note: `(${(s3RssBlob / MiB / seconds).toFixed(0)} MB/s into s3rver)`,
        });
      }
    } finally {
      for (const s of s3servers) await s.stop().catch(() => {});
      await s3.stop();
    }
  }
} finally {
  for (const s of servers) await s.stop().catch(() => {});
  await Deno.remove(root, { recursive: true }).catch(() => {});
}

const fmt = (n: number | null) =>
  n === null || Number.isNaN(n) ? "n/a" : n >= 100 ? n.toFixed(0) : n.toFixed(2);
console.log(
  `\nBerth vs CNCF distribution 2.8.2, loopback, ${
    quick ? "quick" : "full"
  } run, median of ${repeats}`,
);
console.log(
  "(load tools share the machine's 2 cores with the servers; compare ratios, not absolutes)\n",
);
console.log("| scenario | unit | berth | distribution | ratio | target |");
console.log("| --- | --- | ---: | ---: | ---: | --- |");
for (const r of rows) {
  const ratio = r.distribution === null || Number.isNaN(r.berth)
    ? null
    : r.lowerIsBetter
    ? r.distribution / r.berth
    : r.berth / r.distribution;
  const shown = r.target === "" && r.distribution === null
    ? ""
    : r.target.startsWith("<")
    ? (r.berth < Number(r.target.match(/\d+/)![0]) ? "met" : "missed")
    : ratio === null
    ? "n/a"
    : `${fmt(ratio)}x`;
  console.log(
    `| ${r.scenario} | ${r.unit} | ${fmt(r.berth)} | ${
      fmt(r.distribution)
    } | ${shown} | ${r.target} |${r.note ? ` ${r.note}` : ""}`,
  );
}
const resultsDir = new URL("./results/", import.meta.url).pathname;
await Deno.mkdir(resultsDir, { recursive: true });
await Deno.writeTextFile(
  `${resultsDir}/latest.json`,
  JSON.stringify({ date: new Date().toISOString(), quick, rows }, null, 2),
);
