/**
 * @module
 * Peak memory while moving a large blob: a freshly started registry (so the peak is this
 * scenario's own) takes a monolithic push, a chunked push and a full pull of a 1 GiB
 * blob. The figure is the kernel's high-water mark (`VmHWM`) of the server process;
 * `VmRSS` is sampled every 100 ms alongside, and the idle RSS after start-up is noted.
 * distribution goes through the same steps for reference. The target is the streamed-push
 * issue's: at most twice distribution's peak.
 *
 * A second row splits the total: the largest private memory sampled (`RssAnon`: heaps,
 * buffers, stacks), which is what the transfer path controls, while the rest of the
 * total is pages of files, mostly the runtime's own executable code (Deno's binary is
 * 34 MiB resident before the first request here, distribution's 13 MiB).
 */
import { pull, pushChunked, pushMonolithic } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { blobFile, removeBlobFile } from "../data.ts";
import { median } from "../report.ts";
import { memory, sampleRss, type Server, startBerth, startDistribution } from "../servers.ts";

/** Runs the transfers on a fresh instance of each registry; one row, Berth's target. */
export async function rssScenario(ctx: Context): Promise<void> {
  const { sizes, root } = ctx;
  const blob = await blobFile(`${root}/rss.bin`, sizes.rssBlob, sizes.chunk);
  const peaks: Record<Server["name"], number[]> = { berth: [], distribution: [] };
  const privates: Record<Server["name"], number[]> = { berth: [], distribution: [] };
  const notes: string[] = [];
  try {
    const starts = [
      ["berth", () => startBerth(`${root}/berth-rss`)],
      ["distribution", () => startDistribution(`${root}/distribution-rss`)],
    ] as const;
    for (const [name, start] of starts) {
      let server: Server | undefined;
      try {
        server = await start();
        const idle = await memory(server.pid);
        const sampler = sampleRss(server.pid);
        const t = performance.now();
        await pushMonolithic(server.url, "bench/rss1", blob.file, blob.digest);
        await pushChunked(server.url, "bench/rss2", blob.chunks, blob.digest);
        await pull(server.url, "bench/rss1", blob.digest);
        const seconds = (performance.now() - t) / 1000;
        const m = await sampler.stop();
        peaks[name].push(m.peak);
        privates[name].push(m.maxAnon);
        notes.push(
          `${name}: idle ${idle.current.toFixed(0)} MiB after start (${
            idle.anon.toFixed(0)
          } private, ${idle.file.toFixed(0)} file pages), sampled VmRSS max ` +
            `${m.maxSampled.toFixed(0)} / mean ${m.mean.toFixed(0)} MiB (${m.samples} samples; ` +
            `file pages up to ${m.maxFile.toFixed(0)}), ${
              (3 * sizes.rssBlob / MiB / seconds).toFixed(0)
            } MB/s over the three transfers`,
        );
      } catch (err) {
        notes.push(`${name}: ${(err as Error).message.slice(0, 160)}`);
      } finally {
        await server?.stop();
      }
    }
  } finally {
    await removeBlobFile(blob);
  }
  ctx.report.add({
    scenario: `peak RSS moving a ${sizes.rssBlob / MiB} MiB blob (push, chunked push, pull)`,
    unit: "MiB",
    berth: median(peaks.berth),
    distribution: median(peaks.distribution),
    higherIsBetter: false,
    target: { ratioAtLeast: 0.5 },
    samples: peaks,
    notes,
  });
  ctx.report.add({
    scenario: `  of which private memory (largest RssAnon sampled)`,
    unit: "MiB",
    berth: median(privates.berth),
    distribution: median(privates.distribution),
    higherIsBetter: false,
    target: null,
    samples: privates,
    notes: [],
  });
}
