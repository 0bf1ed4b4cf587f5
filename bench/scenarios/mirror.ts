/**
 * @module
 * Pull-through caches side by side: a Berth mirror (`berth.mirrors`, prefix `up`) and
 * distribution 2.8.2 as a pull-through cache (`proxy:`), both of one upstream, a plain
 * distribution 2.8.2 whose access log counts the blob GETs it serves. Every cold pull
 * uses a blob pushed to the upstream just before, so it is cold for both caches.
 *
 * - cold pull through Berth against the same blob straight from the upstream, and
 *   against distribution's cache;
 * - warm pull from Berth's cache against a hosted pull of the same bytes from the same
 *   Berth, and against distribution's cache;
 * - 16 concurrent cold pulls: wall time, its ratio to one cold pull, and how many times
 *   the upstream sent the blob;
 * - peak RSS of a fresh cache after a cold pull of a small blob and then of a large one
 *   (flat in blob size).
 */
import { pull, pushMonolithic } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { randomFile } from "../data.ts";
import { median } from "../report.ts";
import { freePort, memory, type Server, startBerth, startDistribution, track } from "../servers.ts";

const CONCURRENT = 16;

/** A plain distribution whose access log is read, to count the GETs of each blob. */
interface Upstream {
  url: string;
  /** 200 GETs of blob `digest` served so far. */
  gets(digest: string): number;
  stop(): Promise<void>;
}

async function startUpstream(dir: string): Promise<Upstream> {
  const port = freePort();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/data`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const counts = new Map<string, number>();
  (async () => {
    let rest = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const m = /"GET \/v2\/\S+\/blobs\/(sha256:[0-9a-f]{64}) HTTP\/[\d.]+" 200 /.exec(line);
        if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
      }
    }
  })().catch(() => {});
  const stop = track(async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (true) {
    const ok = await fetch(`${url}/v2/`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("the upstream distribution did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, gets: (digest) => counts.get(digest) ?? 0, stop };
}

/** The two caches of `upstream`: a Berth mirror and distribution's pull-through cache. */
async function startCaches(dir: string, upstream: Upstream): Promise<Server[]> {
  const berth = await startBerth(`${dir}/berth`, {
    REGISTRY_BERTH_MIRRORS_0_PREFIX: "up",
    REGISTRY_BERTH_MIRRORS_0_REMOTEURL: upstream.url,
  });
  try {
    const distribution = await startDistribution(`${dir}/distribution`, undefined, [
      "proxy:",
      `  remoteurl: ${upstream.url}`,
    ]);
    return [berth, distribution];
  } catch (err) {
    await berth.stop();
    throw err;
  }
}

/** Where a cache serves upstream repository `repo`. */
const through = (s: Server, repo: string) => (s.name === "berth" ? `up/${repo}` : repo);

/** Runs the mirror scenarios. */
export async function mirrorScenario(ctx: Context): Promise<void> {
  const { root, sizes, report } = ctx;
  const size = sizes.blob;
  const dir = `${root}/mirror`;
  const upstream = await startUpstream(`${dir}/upstream`);
  let seq = 0;
  /** A new blob in the upstream (so it is cold for every cache). */
  const fresh = async (bytes = size) => {
    const file = `${dir}/blob-${seq++}.bin`;
    const digest = await randomFile(file, bytes);
    await pushMonolithic(upstream.url, "bench/mirror", file, digest);
    await Deno.remove(file);
    return digest;
  };
  const mb = (bytes: number, seconds: number) => bytes / MiB / seconds;
  const caches = await startCaches(dir, upstream).catch(async (err) => {
    await upstream.stop();
    throw err;
  });
  try {
    const [berth] = caches;
    const cold: Record<Server["name"], number[]> = { berth: [], distribution: [] };
    const straight: number[] = [];
    const warm: Record<Server["name"], number[]> = { berth: [], distribution: [] };
    const hosted: number[] = [];
    for (let round = 0; round < sizes.repeats; round++) {
      const digest = await fresh();
      straight.push(mb(size, await pull(upstream.url, "bench/mirror", digest)));
      for (const s of caches) {
        cold[s.name].push(mb(size, await pull(s.url, through(s, "bench/mirror"), digest)));
      }
      // Warm once cached: a pull right after the cold one may still follow the copy.
      // The same bytes go into a hosted repository of the same Berth (one file for both).
      await mountIntoHosted(berth, digest);
      // Pulls from the page cache are short and noisy: three times the rounds, alternating.
      for (let k = 0; k < 3; k++) {
        for (const s of caches) {
          warm[s.name].push(mb(size, await pull(s.url, through(s, "bench/mirror"), digest)));
        }
        hosted.push(mb(size, await pull(berth.url, "bench/hosted", digest)));
      }
    }
    const row = (
      scenario: string,
      b: number[],
      d: number[],
      target: number | null,
      notes: string[],
    ) =>
      report.add({
        scenario,
        unit: "MB/s",
        berth: median(b),
        distribution: median(d),
        higherIsBetter: true,
        target: target === null ? null : { ratioAtLeast: target },
        samples: { berth: b, distribution: d },
        notes,
      });
    const n = size / MiB;
    row(
      `mirror: cold pull ${n} MiB, Berth mirror vs straight from the upstream`,
      cold.berth,
      straight,
      0.9,
      [
        "distribution column: the same blob pulled from the upstream (distribution 2.8.2) directly",
      ],
    );
    row(
      `mirror: cold pull ${n} MiB, Berth vs distribution as pull-through caches`,
      cold.berth,
      cold.distribution,
      null,
      [],
    );
    row(
      `mirror: warm pull ${n} MiB, Berth mirror vs a hosted pull from the same Berth`,
      warm.berth,
      hosted,
      0.95,
      [
        "distribution column: the same bytes pulled from a hosted repository of the same Berth",
      ],
    );
    row(
      `mirror: warm pull ${n} MiB, Berth vs distribution as pull-through caches`,
      warm.berth,
      warm.distribution,
      null,
      [],
    );
    await concurrentCold(
      ctx,
      caches,
      upstream,
      fresh,
      median(cold.berth),
      median(cold.distribution),
    );
  } finally {
    for (const s of caches) await s.stop();
  }
  try {
    await peakRss(ctx, upstream, fresh);
  } finally {
    await upstream.stop();
  }
}

/** Puts a blob the Berth mirror has cached into its hosted repository `bench/hosted`. */
async function mountIntoHosted(berth: Server, digest: string): Promise<void> {
  // A client has the blob once it is verified; the cache links it once it is durable.
  const deadline = Date.now() + 30_000;
  while (true) {
    const res = await fetch(
      `${berth.url}/v2/bench/hosted/blobs/uploads/?mount=${digest}&from=up/bench/mirror`,
      { method: "POST" },
    );
    await res.body?.cancel();
    if (res.status === 201) return;
    const session = res.headers.get("location");
    if (session) {
      await fetch(new URL(session, berth.url), { method: "DELETE" }).then((r) => r.body?.cancel());
    }
    if (Date.now() > deadline) throw new Error(`mounting the cached blob answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** 16 concurrent cold pulls of one blob on each cache: wall time and upstream GETs. */
async function concurrentCold(
  ctx: Context,
  caches: Server[],
  upstream: Upstream,
  fresh: () => Promise<string>,
  coldBerth: number | null,
  coldDistribution: number | null,
): Promise<void> {
  const { report, sizes } = ctx;
  const size = sizes.blob;
  const wall: Record<Server["name"], number[]> = { berth: [], distribution: [] };
  const fetched: Record<Server["name"], number[]> = { berth: [], distribution: [] };
  const notes: string[] = [];
  for (let round = 0; round < sizes.repeats; round++) {
    for (const s of caches) {
      const digest = await fresh();
      const t = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENT }, () => pull(s.url, through(s, "bench/mirror"), digest)),
      ).catch((err) => notes.push(`${s.name}: ${(err as Error).message.slice(0, 120)}`));
      wall[s.name].push((performance.now() - t) / 1000);
      fetched[s.name].push(upstream.gets(digest));
    }
  }
  const n = size / MiB;
  report.add({
    scenario: `mirror: ${CONCURRENT} concurrent cold pulls of ${n} MiB, wall time`,
    unit: "s",
    berth: median(wall.berth),
    distribution: median(wall.distribution),
    higherIsBetter: false,
    target: null,
    samples: wall,
    notes,
  });
  const one = (mbps: number | null) => (mbps ? n / mbps : null);
  const relative = (name: Server["name"], mbps: number | null) => {
    const w = median(wall[name]);
    const single = one(mbps);
    return w !== null && single ? w / single : null;
  };
  report.add({
    scenario: `  the same, relative to one cold pull (wall time ratio)`,
    unit: "x",
    berth: relative("berth", coldBerth),
    distribution: relative("distribution", coldDistribution),
    higherIsBetter: false,
    target: { berthBelow: 1.2 },
  });
  report.add({
    scenario: `  times the upstream sent the blob for those ${CONCURRENT} pulls`,
    unit: "GETs",
    berth: median(fetched.berth),
    distribution: median(fetched.distribution),
    higherIsBetter: false,
    target: { berthBelow: 1.5 },
    samples: fetched,
  });
}

/**
 * Peak RSS of fresh caches after cold pulls of a medium blob and then of a large one
 * (after a warm-up pull, so start-up allocations are not counted as growth).
 */
async function peakRss(
  ctx: Context,
  upstream: Upstream,
  fresh: (bytes?: number) => Promise<string>,
): Promise<void> {
  const { report, sizes, root } = ctx;
  const steps = [["warm-up", 16 * MiB], ["medium", sizes.blob], ["large", sizes.rssBlob]] as const;
  const caches = await startCaches(`${root}/mirror-rss`, upstream);
  const peaks: Record<string, Record<Server["name"], number[]>> = {};
  try {
    for (const [which, bytes] of steps) {
      const digest = await fresh(bytes);
      peaks[which] = { berth: [], distribution: [] };
      for (const s of caches) {
        await pull(s.url, through(s, "bench/mirror"), digest);
        peaks[which][s.name].push((await memory(s.pid)).peak);
      }
    }
  } finally {
    for (const s of caches) await s.stop();
  }
  for (const [which, bytes] of steps.slice(1)) {
    report.add({
      scenario: `mirror: peak RSS of a fresh cache after a cold pull of ${bytes / MiB} MiB`,
      unit: "MiB",
      berth: median(peaks[which].berth),
      distribution: median(peaks[which].distribution),
      higherIsBetter: false,
      target: null,
      samples: peaks[which],
      notes: which === "medium"
        ? ["after a 16 MiB warm-up pull; the next row follows this one"]
        : [],
    });
  }
  const growth = (name: Server["name"]) => {
    const [a, b] = [median(peaks.medium[name]), median(peaks.large[name])];
    return a === null || b === null ? null : b - a;
  };
  const d = growth("distribution");
  report.add({
    scenario: `  growth from the ${sizes.blob / MiB} to the ${
      sizes.rssBlob / MiB
    } MiB pull (flat: ~0)`,
    unit: "MiB",
    berth: growth("berth"),
    distribution: null,
    higherIsBetter: false,
    target: { berthBelow: 32 },
    berthOnly: true,
    notes: d === null ? [] : [`distribution grew ${d.toFixed(1)} MiB`],
  });
}
