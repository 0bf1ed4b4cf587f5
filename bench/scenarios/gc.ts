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
    args: ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}src/gc/cli.ts`, "gc"].concat(
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

/** Awaits `work`, sampling every 100 ms whether a collection holds its lease (runs). */
async function whileSampling<T>(dir: string, work: Promise<T>): Promise<[T, number]> {
  const store = await KvMetadataStore.open(`${dir}/metadata.kv`);
  let done = false;
  let held = 0;
  let samples = 0;
  const sampling = (async () => {
    while (!done) {
      if (await store.get(meta.lease("gc"))) held++;
      samples++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return [await work, samples ? held / samples : 0];
  } finally {
    done = true;
    await sampling;
    await store.close();
  }
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

  const window = ctx.quick ? 4 : 12;
  const rounds = ctx.quick ? 1 : 3;
  const ratios: number[] = [];
  const pushNotes: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const plain = await startBerth(dir);
    let without: number;
    try {
      without = await pushRate(plain, 4, window);
    } finally {
      await plain.stop();
    }
    const collecting = await startBerth(dir, {
      REGISTRY_BERTH_GC_INTERVAL: "1s",
      REGISTRY_BERTH_GC_DELETEUNTAGGED: "true",
    });
    let during: number;
    let share: number;
    try {
      await new Promise((r) => setTimeout(r, 1_500)); // the first run starts after 1 s
      [during, share] = await whileSampling(dir, pushRate(collecting, 4, window));
    } finally {
      await collecting.stop();
    }
    ratios.push(during / without);
    pushNotes.push(
      `round ${round + 1}: ${without.toFixed(1)} pushes/s without, ${during.toFixed(1)} with ` +
        `a collection running ${(share * 100).toFixed(0)}% of the time`,
    );
  }
  const sorted = ratios.toSorted((a, b) => a - b);
  ctx.report.add({
    scenario: "push throughput while collections run, relative to none",
    unit: "x",
    berth: sorted[Math.floor(sorted.length / 2)],
    distribution: null,
    higherIsBetter: true,
    target: { berthAtLeast: 0.8 },
    berthOnly: true,
    notes: pushNotes,
  });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
