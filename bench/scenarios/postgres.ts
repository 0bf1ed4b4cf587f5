/**
 * @module
 * Berth on PostgreSQL against Berth on Deno KV (both Berth; distribution keeps no
 * metadata store of this kind): the small-request rates of `rate.ts` and a skopeo push
 * of a many-layer image through a Berth process on each store, then the commit latency
 * of the stores themselves (median and p99 of sequential commits shaped like a tag move).
 *
 * The database is Debian's PostgreSQL in a temp cluster with durable commits (fsync on,
 * as the KV file's SQLite syncs too), on the same machine. Each pair of rows shows the
 * KV figure and the PostgreSQL figure; the PostgreSQL row's note says how it compares.
 */
import { KvMetadataStore } from "../../drivers/metadata/kv.ts";
import { PostgresMetadataStore } from "../../drivers/metadata/postgres.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { startPostgres } from "../../tests/helpers/postgres.ts";
import { rate, skopeoCopy } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { writeImageLayout } from "../image.ts";
import { fmt, median } from "../report.ts";
import { type Server, startBerth, track } from "../servers.ts";
import { ACCEPT, REPO, seed, TAG } from "./rate.ts";

type Store = "Deno KV" | "PostgreSQL";

/** Adds the two rows of one measurement: Deno KV's, then PostgreSQL's with the comparison. */
function pair(
  ctx: Context,
  scenario: string,
  unit: string,
  higherIsBetter: boolean,
  samples: Record<Store, number[]>,
): void {
  const kv = median(samples["Deno KV"]);
  const pg = median(samples.PostgreSQL);
  const better = kv && pg ? (higherIsBetter ? pg / kv : kv / pg) : null;
  for (const store of ["Deno KV", "PostgreSQL"] as const) {
    ctx.report.add({
      scenario: `${scenario}, ${store}`,
      unit,
      berth: median(samples[store]),
      distribution: null,
      higherIsBetter,
      target: null,
      berthOnly: true,
      samples: { berth: samples[store], distribution: [] },
      notes: store === "PostgreSQL" && better !== null
        ? [`PostgreSQL at ${fmt(better)}x Deno KV (above 1: PostgreSQL is better)`]
        : [],
    });
  }
  console.error(`  ${scenario}: kv ${fmt(kv)}, postgres ${fmt(pg)} ${unit}`);
}

/** Sequential commits like a tag move (a checked tag, its reverse index); latencies in ms. */
async function commitLatencies(store: MetadataStore, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const tag = ["tag", "bench/latency", `t${i % 50}`];
    const found = await store.get<{ digest: string }>(tag);
    const digest = `sha256:${String(i).padStart(64, "0")}`;
    const mutations: Mutation[] = [
      { type: "set", key: tag, value: { digest, updated: Date.now() } },
      { type: "set", key: ["tagged", "bench/latency", digest, tag[2]], value: {} },
    ];
    if (found) {
      mutations.push({
        type: "delete",
        key: ["tagged", "bench/latency", found.value.digest, tag[2]],
      });
    }
    const started = performance.now();
    const ok = await store.commit([{ key: tag, version: found?.version ?? null }], mutations);
    ms.push(performance.now() - started);
    if (!ok) throw new Error("an uncontended commit failed its check");
  }
  return ms;
}

const p99 = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
};

/** Runs the PostgreSQL-against-KV rows. */
export async function postgresScenario(ctx: Context): Promise<void> {
  const { root, sizes } = ctx;
  const pg = await startPostgres({ fsync: true });
  const stopPg = track(() => pg.remove());
  const servers: [Store, Server][] = [];
  try {
    servers.push(["Deno KV", await startBerth(`${root}/berth-on-kv`)]);
    servers.push([
      "PostgreSQL",
      await startBerth(`${root}/berth-on-pg`, {
        REGISTRY_BERTH_METADATA_DRIVER: "postgres",
        REGISTRY_BERTH_METADATA_URL: await pg.database(),
      }),
    ]);
    const blobs = new Map<Server, string>();
    for (const [, s] of servers) blobs.set(s, await seed(s));
    const cases: [string, "GET" | "HEAD", (s: Server) => string, string?][] = [
      ["HEAD manifest by tag", "HEAD", (s) => `${s.url}/v2/${REPO}/manifests/${TAG}`, ACCEPT],
      ["GET manifest by tag", "GET", (s) => `${s.url}/v2/${REPO}/manifests/${TAG}`, ACCEPT],
      ["GET tags list", "GET", (s) => `${s.url}/v2/${REPO}/tags/list`],
      ["HEAD blob", "HEAD", (s) => `${s.url}/v2/${REPO}/blobs/${blobs.get(s)}`],
    ];
    for (const [name, method, url, accept] of cases) {
      const samples: Record<Store, number[]> = { "Deno KV": [], PostgreSQL: [] };
      for (let i = 0; i < sizes.repeats; i++) {
        for (const [store, s] of servers) {
          samples[store].push(await rate(url(s), method, sizes.rateSeconds, accept));
        }
      }
      pair(ctx, `${name} (32 conns, ${method === "GET" ? "wrk" : "hey"})`, "req/s", true, samples);
    }

    const policy = `${root}/policy-pg.json`;
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
    const mib = (sizes.layers * sizes.layerSize / MiB).toFixed(0);
    const pushes: Record<Store, number[]> = { "Deno KV": [], PostgreSQL: [] };
    for (let i = 0; i < sizes.repeats; i++) {
      for (const [store, s] of servers) {
        // A new image each time: skopeo would mount blobs it pushed before.
        const layout = `${root}/pg-image-${i}-${s.pid}`;
        await writeImageLayout(layout, "bench", sizes.layers, sizes.layerSize);
        try {
          pushes[store].push(
            await skopeoCopy(policy, [
              "--dest-tls-verify=false",
              `oci:${layout}:bench`,
              `docker://${s.host}/bench/pg${i}:t`,
            ]),
          );
        } finally {
          await Deno.remove(layout, { recursive: true }).catch(() => {});
        }
      }
    }
    pair(ctx, `skopeo push ${sizes.layers} layers, ${mib} MiB`, "s", false, pushes);
  } finally {
    for (const [, s] of servers) await s.stop();
  }

  const count = ctx.quick ? 300 : 2_000;
  const kv = await KvMetadataStore.open(`${root}/latency/metadata.kv`);
  const store = await PostgresMetadataStore.open({ url: await pg.database() });
  try {
    const latencies: Record<Store, number[]> = { "Deno KV": [], PostgreSQL: [] };
    latencies["Deno KV"] = await commitLatencies(kv, count);
    latencies.PostgreSQL = await commitLatencies(store, count);
    pair(ctx, `commit latency, median of ${count} tag moves`, "ms", false, {
      "Deno KV": [median(latencies["Deno KV"])!],
      PostgreSQL: [median(latencies.PostgreSQL)!],
    });
    pair(ctx, `commit latency, p99 of ${count} tag moves`, "ms", false, {
      "Deno KV": [p99(latencies["Deno KV"])],
      PostgreSQL: [p99(latencies.PostgreSQL)],
    });
  } finally {
    await kv.close();
    await store.close();
    await stopPg();
  }
}
