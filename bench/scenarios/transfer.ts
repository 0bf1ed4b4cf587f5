/**
 * @module
 * Blob transfers through the HTTP API with curl: a monolithic push (`POST` then `PUT
 * ?digest=` with the whole body), a chunked push (`PATCH`es with `Content-Range`, then
 * `PUT ?digest=`), a full pull and a burst of 1 MiB range pulls. Throughputs are MB/s of
 * blob bytes over the wall time of all requests of the transfer.
 */
import { pull, pushChunked, pushMonolithic, ranges } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { median } from "../report.ts";
import type { Server } from "../servers.ts";

/** Where the scenarios run: the context's servers, or others (S3) under a name prefix. */
export interface Where {
  servers: Server[];
  /** Prefixes scenario names and repository names ("" for the filesystem). */
  label: string;
}

const PUSH = { ratioAtLeast: 1.5 };
const PULL = { ratioAtLeast: 1.0 };

function names(label: string) {
  return {
    scenario: (what: string) => (label ? `${label}: ${what}` : what),
    repo: (what: string) => `bench/${label.toLowerCase()}${what}`,
  };
}

/** Pushes the blob with one `PUT`, a new repository each round. */
export async function pushScenario(ctx: Context, where: Where): Promise<void> {
  const { scenario, repo } = names(where.label);
  const { blob } = ctx;
  await ctx.report.compare(
    where.servers,
    scenario(`blob push ${blob.size / MiB} MiB monolithic`),
    "MB/s",
    true,
    PUSH,
    ctx.sizes.repeats,
    async (s, i) =>
      blob.size / MiB / await pushMonolithic(s.url, repo(`mono${i}`), blob.file, blob.digest),
  );
}

/** Pushes the blob in chunks, and reports the closing `PUT` on its own line. */
export async function chunkedScenario(ctx: Context, where: Where): Promise<void> {
  const { scenario, repo } = names(where.label);
  const { blob } = ctx;
  const commits: Record<string, number[]> = { berth: [], distribution: [] };
  const row = await ctx.report.compare(
    where.servers,
    scenario(`blob push ${blob.size / MiB} MiB in ${ctx.sizes.chunk / MiB} MiB chunks`),
    "MB/s",
    true,
    PUSH,
    ctx.sizes.repeats,
    async (s, i) => {
      const r = await pushChunked(s.url, repo(`chunked${i}`), blob.chunks, blob.digest);
      commits[s.name].push(r.commit * 1000);
      return blob.size / MiB / r.total;
    },
  );
  ctx.report.add({
    scenario: `  ${scenario("of which the closing PUT ?digest=")}`,
    unit: "ms",
    berth: median(commits.berth),
    distribution: median(commits.distribution),
    higherIsBetter: false,
    target: null,
    samples: { berth: commits.berth, distribution: commits.distribution },
    notes: row.notes.length ? ["see above"] : [],
  });
}

/**
 * Pulls the whole blob (three times as many rounds: a pull from the page cache is short
 * and noisy) and, when `withRanges`, bursts of range GETs over one connection.
 */
export async function pullScenario(ctx: Context, where: Where, withRanges: boolean): Promise<void> {
  const { scenario, repo } = names(where.label);
  const { blob, sizes } = ctx;
  // Seeded untimed; a registry that cannot take it fails the timed rows with the reason.
  for (const s of where.servers) {
    await pushMonolithic(s.url, repo("pull"), blob.file, blob.digest).catch(() => {});
  }
  await ctx.report.compare(
    where.servers,
    scenario(`blob pull ${blob.size / MiB} MiB`),
    "MB/s",
    true,
    PULL,
    sizes.repeats * 3,
    async (s) => blob.size / MiB / await pull(s.url, repo("pull"), blob.digest),
  );
  if (!withRanges) return;
  const latencies: Record<string, number[]> = { berth: [], distribution: [] };
  const row = await ctx.report.compare(
    where.servers,
    scenario(`range GET ${sizes.rangeLength / MiB} MiB (x${sizes.rangeCount}, one connection)`),
    "req/s",
    true,
    PULL,
    sizes.repeats,
    async (s) => {
      const url = `${s.url}/v2/${repo("pull")}/blobs/${blob.digest}`;
      const r = await ranges(url, blob.size, sizes.rangeLength, sizes.rangeCount);
      latencies[s.name].push(r.medianMs);
      return r.perSecond;
    },
  );
  ctx.report.add({
    scenario: `  ${scenario("median latency of one range GET")}`,
    unit: "ms",
    berth: median(latencies.berth),
    distribution: median(latencies.distribution),
    higherIsBetter: false,
    target: null,
    samples: { berth: latencies.berth, distribution: latencies.distribution },
    notes: row.notes.length ? ["see above"] : [],
  });
}
