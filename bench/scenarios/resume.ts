/**
 * @module
 * Berth-only: what its digest-state choice costs. Live states (node:crypto) make a
 * restarted process re-hash what an unfinished upload already holds, once; portable states
 * (hash-wasm, `berth.uploads.hashing: portable`) hash every byte more slowly but never
 * re-read anything. distribution keeps its hash state in storage and has no such choice.
 */
import { absolute, curl, patchChunks, pushChunked } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { startBerth } from "../servers.ts";

/** A resumed upload after a restart, then chunked pushes with either kind of state. */
export async function resumeScenario(ctx: Context): Promise<void> {
  const { blob, root, sizes, report } = ctx;
  const half = blob.chunks.slice(0, Math.max(1, Math.floor(blob.chunks.length / 2)));
  const dir = `${root}/berth-resume`;
  let berth = await startBerth(dir);
  let cold: number;
  let warm: number | undefined;
  let held: number;
  try {
    const post = await curl(["-X", "POST", `${berth.url}/v2/bench/resume/blobs/uploads/`]);
    const first = await patchChunks(
      berth.url,
      absolute(berth.url, post.headers.get("location")),
      half,
    );
    held = first.offset;
    const path = new URL(first.location).pathname + new URL(first.location).search;
    await berth.stop();
    berth = await startBerth(dir);
    const next = blob.chunks.slice(half.length, half.length + 2);
    const { seconds } = await patchChunks(berth.url, berth.url + path, next, first.offset);
    [cold, warm] = seconds;
  } finally {
    await berth.stop();
  }
  report.add({
    scenario: `resume after a restart: a ${sizes.chunk / MiB} MiB PATCH re-hashing ${
      held / MiB
    } MiB (live state)`,
    unit: "ms",
    berth: cold * 1000,
    distribution: null,
    higherIsBetter: false,
    target: null,
    berthOnly: true,
    notes: warm === undefined
      ? []
      : [`the next PATCH, its state in memory again: ${(warm * 1000).toFixed(0)} ms`],
  });
  for (const hashing of ["portable", "auto"] as const) {
    const s = await startBerth(`${root}/berth-${hashing}`, {
      REGISTRY_BERTH_UPLOADS_HASHING: hashing,
    });
    const totals: number[] = [];
    try {
      for (let i = 0; i < sizes.repeats; i++) {
        const r = await pushChunked(s.url, `bench/${hashing}${i}`, blob.chunks, blob.digest);
        totals.push(blob.size / MiB / r.total);
      }
    } finally {
      await s.stop();
    }
    totals.sort((a, b) => a - b);
    report.add({
      scenario: `blob push ${blob.size / MiB} MiB in ${sizes.chunk / MiB} MiB chunks, ${
        hashing === "auto" ? "live" : "portable"
      } digest states`,
      unit: "MB/s",
      berth: totals[Math.floor(totals.length / 2)],
      distribution: null,
      higherIsBetter: true,
      target: null,
      berthOnly: true,
      samples: { berth: totals, distribution: [] },
    });
  }
}
