/**
 * @module
 * Berth-only: garbage collection at scale. A registry of 5,000 manifests and 25,000
 * blobs is written through the registry's own store helpers (the records and bytes a
 * push writes, without 25,000 HTTP round trips), half of the manifests untagged. Then:
 *
 * - `deno task gc --delete-untagged --grace=0s` collects it (2,500 manifests, 12,500
 *   links, 15,000 blobs go): its time and its process's peak RSS (`VmHWM`);
 * - pushes per second from four clients into a Berth serving that data, without and then
 *   with the online collector running back to back (`berth.gc.interval: 1s`, default
 *   grace): the ratio of the two.
 *
 * distribution cannot collect while it serves, so it has no figures here.
 */
import { FilesystemBlobDriver } from "../../drivers/blob/filesystem.ts";
import { KvMetadataStore } from "../../drivers/metadata/kv.ts";
import type { Mutation } from "../../drivers/metadata/types.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import { BlobStore } from "../../src/registry/blobs.ts";
import { blobKey, meta } from "../../src/registry/keys.ts";
import type { ManifestRecord } from "../../src/registry/records.ts";
import type { Context } from "../context.ts";
import { sha256 } from "../data.ts";
import { memory, type Server, startBerth } from "../servers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const REPOS = 50;
/** Blobs per manifest: a config and four layers. */
const PER_MANIFEST = 5;
/** Manifests per commit while populating (19 mutations each). */
const PER_COMMIT = 40;

/** Writes `manifests` images of five blobs each into `dir`; every other one untagged. */
async function populate(dir: string, manifests: number): Promise<void> {
  const driver = await FilesystemBlobDriver.open(`${dir}/blobs`);
  const store = await KvMetadataStore.open(`${dir}/metadata.kv`);
  const blobs = new BlobStore(driver, store);
  const now = Date.now() - 3 * 3600_000; // older than the default grace
  try {
    for (let first = 0; first < manifests; first += PER_COMMIT) {
      const mutations: Mutation[] = [];
      const writes: [string, Uint8Array][] = [];
      for (let i = first; i < Math.min(manifests, first + PER_COMMIT); i++) {
        const repo = `bench/gc${i % REPOS}`;
        const refs: { digest: string; size: number }[] = [];
        for (let j = 0; j < PER_MANIFEST; j++) {
          const bytes = new TextEncoder().encode(`blob ${i}.${j} ${"x".repeat(200 + j)}`);
          const digest = sha256(bytes);
          refs.push({ digest, size: bytes.byteLength });
          writes.push([blobKey(parseDigest(digest)), bytes]);
          const held = {
            check: { key: meta.blob(digest), version: null },
            value: { size: bytes.byteLength },
          };
          mutations.push(...blobs.linkMutations(repo, digest, held, now));
        }
        const text = JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...refs[0] },
          layers: refs.slice(1).map((r) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            ...r,
          })),
        });
        const bytes = new TextEncoder().encode(text);
        const digest = sha256(bytes);
        writes.push([blobKey(parseDigest(digest)), bytes]);
        const record: ManifestRecord = {
          size: bytes.byteLength,
          mediaType: OCI_MANIFEST,
          created: now,
          refs: { blobs: refs.map((r) => r.digest), manifests: [] },
        };
        mutations.push(
          { type: "set", key: meta.blob(digest), value: { size: bytes.byteLength, created: now } },
          { type: "set", key: meta.manifest(repo, digest), value: record },
        );
        if (i % 2 === 0) {
          const tag = `t${i}`;
          mutations.push(
            { type: "set", key: meta.tag(repo, tag), value: { digest, updated: now } },
            { type: "set", key: meta.tagged(repo, digest, tag), value: {} },
          );
        }
      }
      await Promise.all(
        writes.map(([key, bytes]) => driver.write(key, new Blob([bytes as BlobPart]).stream())),
      );
      if (await store.commit([], mutations) === null) throw new Error("Populating failed");
    }
  } finally {
    await store.close();
  }
}

/** Runs `deno task gc` on `dir`; its report, wall seconds and peak RSS (MiB). */
async function collectOffline(dir: string): Promise<{
  report: { ms: number; removed: Record<string, string[]> };
  seconds: number;
  peak: number;
}> {
  const config = `${dir}/config.yml`;
  await Deno.writeTextFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/blobs\n` +
      `berth:\n  datadir: ${dir}\n`,
  );
  const t = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    // As `deno task gc` runs it (see deno.json).
    args: [
      "run",
      "-A",
      "--v8-flags=--optimize-for-size",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}src/gc/cli.ts`,
      "gc",
    ].concat(
      ["--delete-untagged", "--grace=0s", "--json", config],
    ),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(async () => {
    peak = Math.max(peak, (await memory(child.pid).catch(() => ({ peak: 0 }))).peak);
  }, 50);
  const out = await child.output();
  clearInterval(sampler);
  const seconds = (performance.now() - t) / 1000;
  if (out.code !== 0) {
    throw new Error(`deno task gc exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { report: JSON.parse(new TextDecoder().decode(out.stdout)), seconds, peak };
}

/** Pushes per second of small images from `clients` clients over `seconds`. */
async function pushRate(server: Server, clients: number, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let pushes = 0;
  const worker = async (id: number) => {
    for (let n = 0; performance.now() < deadline; n++) {
      const descs = [];
      for (let j = 0; j < 3; j++) {
        const bytes = crypto.getRandomValues(new Uint8Array(j === 0 ? 200 : 16_384));
        const digest = sha256(bytes);
        const res = await fetch(
          `${server.url}/v2/bench/push${id}/blobs/uploads/?digest=${digest}`,
          { method: "POST", body: bytes as BodyInit },
        );
        await res.body?.cancel();
        if (res.status !== 201) throw new Error(`An upload answered ${res.status}`);
        descs.push({ digest, size: bytes.byteLength });
      }
      const put = await fetch(`${server.url}/v2/bench/push${id}/manifests/p${n}`, {
        method: "PUT",
        headers: { "Content-Type": OCI_MANIFEST },
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...descs[0] },
          layers: descs.slice(1).map((d) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            ...d,
          })),
        }),
      });
      await put.body?.cancel();
      if (put.status !== 201) throw new Error(`A manifest PUT answered ${put.status}`);
      pushes++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
  return pushes / ((performance.now() - t) / 1000);
}

/**
 * Holds the collector's fleet-wide lease in the benchmark's name (a live instance with a
 * heartbeat), so the server's own job cannot run, once no run holds it; `release` gives
 * it back and the job runs again within its interval.
 */
async function holdCollector(store: KvMetadataStore): Promise<() => Promise<void>> {
  const self = { instance: "bench-gc", boot: crypto.randomUUID() };
  const beat = () =>
    store.commit([], [{
      type: "set",
      key: meta.instance(self.instance),
      value: { boot: self.boot, until: Date.now() + 3_000 },
    }]);
  await beat();
  const beating = setInterval(beat, 1_000);
  for (;;) {
    const held = await store.commit([{ key: meta.lease("gc"), version: null }], [
      { type: "set", key: meta.lease("gc"), value: { ...self, until: Date.now() + 600_000 } },
    ]);
    if (held) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return async () => {
    clearInterval(beating);
    await store.commit([], [{ type: "delete", key: meta.lease("gc") }]);
  };
}

/** Awaits `work`, sampling every 100 ms whether the server's collector holds its lease. */
async function whileSampling<T>(store: KvMetadataStore, work: Promise<T>): Promise<[T, number]> {
  let done = false;
  let held = 0;
  let samples = 0;
  const sampling = (async () => {
    while (!done) {
      const lease = await store.get<{ instance: string }>(meta.lease("gc"));
      if (lease && lease.value.instance !== "bench-gc") held++;
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return [await work, samples ? held / samples : 0];
  } finally {
    done = true;
    await sampling;
  }
}

/** Waits until the server's collector holds its lease (a run has started). */
async function collectorRunning(store: KvMetadataStore): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const lease = await store.get<{ instance: string }>(meta.lease("gc"));
    if (lease && lease.value.instance !== "bench-gc") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("The online collector did not start within 30 s");
}

/** The collection's time and memory, and push throughput while collections run. */
export async function gcScenario(ctx: Context): Promise<void> {
  const manifests = 5_000;
  const dir = `${ctx.root}/berth-gc`;
  const t = performance.now();
  await populate(dir, manifests);
  const populated = (performance.now() - t) / 1000;
  const { report, seconds, peak } = await collectOffline(dir);
  const removed = report.removed;
  const notes = [
    `${manifests} manifests and ${manifests * PER_MANIFEST} blobs in ${REPOS} repositories, ` +
    `written in ${populated.toFixed(0)} s; the run removed ${removed.manifests.length} ` +
    `manifests, ${removed.links.length} links and ${removed.blobs.length} blobs ` +
    `(${(report.ms / 1000).toFixed(1)} s inside the command)`,
  ];
  ctx.report.add({
    scenario: `collection of ${manifests} manifests / ${manifests * PER_MANIFEST} blobs (time)`,
    unit: "s",
    berth: seconds,
    distribution: null,
    higherIsBetter: false,
    target: { berthBelow: 60 },
    berthOnly: true,
    notes,
  });
  ctx.report.add({
    scenario: `collection of ${manifests} manifests / ${manifests * PER_MANIFEST} blobs (peak RSS)`,
    unit: "MiB",
    berth: peak,
    distribution: null,
    higherIsBetter: false,
    target: { berthBelow: 200 },
    berthOnly: true,
  });

  // One server with the online collector (every second, default grace), windows of
  // pushes taken alternately with the collector held off (its lease held here) and with
  // it running, so drift in the machine's load hits both alike.
  const window = ctx.quick ? 6 : 10;
  const rounds = 3;
  const server = await startBerth(dir, {
    REGISTRY_BERTH_GC_INTERVAL: "1s",
    REGISTRY_BERTH_GC_DELETEUNTAGGED: "true",
  });
  const store = await KvMetadataStore.open(`${dir}/metadata.kv`);
  const rates = { without: [] as number[], during: [] as number[] };
  const busy: number[] = [];
  try {
    await pushRate(server, 4, 1); // warm-up
    for (let round = 0; round < rounds; round++) {
      const release = await holdCollector(store);
      try {
        rates.without.push(await pushRate(server, 4, window));
      } finally {
        await release();
      }
      await collectorRunning(store);
      const [rate, share] = await whileSampling(store, pushRate(server, 4, window));
      rates.during.push(rate);
      busy.push(share);
    }
  } finally {
    await store.close();
    await server.stop();
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  ctx.report.add({
    scenario: "push throughput while collections run, relative to none",
    unit: "x",
    berth: sum(rates.during) / sum(rates.without),
    distribution: null,
    higherIsBetter: true,
    target: { berthAtLeast: 0.8 },
    berthOnly: true,
    notes: [
      `pushes/s of 4 clients over ${rounds} alternating ${window} s windows: without ` +
      rates.without.map((r) => r.toFixed(1)).join(", ") + "; with the online collector " +
      rates.during.map((r) => r.toFixed(1)).join(", ") + ` (running ${
        busy.map((b) => `${(b * 100).toFixed(0)}%`).join(", ")
      } of those windows)`,
    ],
  });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
