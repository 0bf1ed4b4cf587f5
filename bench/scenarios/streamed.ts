/**
 * @module
 * Streamed pushes, as podman and buildah upload a layer they compress on the fly: `POST`,
 * one `PATCH` with `Transfer-Encoding: chunked` and no `Content-Length` in 4 KiB, 32 KiB
 * (Go's writer) and 1 MiB pieces, `PUT ?digest=`. For reference, the same bytes in one
 * `PATCH` with a `Content-Length`; Berth's streamed figures are held against its own
 * reference (they must stay within 0.8x of it), and against itself at 4x the size (the
 * time must grow linearly).
 */
import { type Context, MiB } from "../context.ts";
import { randomFile } from "../data.ts";
import { median, type Row } from "../report.ts";
import { frameFile, pushStreamed } from "../stream.ts";

const PIECES = [4 * 1024, 32 * 1024, MiB];
const label = (piece: number) => (piece >= MiB ? `${piece / MiB} MiB` : `${piece / 1024} KiB`);

/** The streamed rows, the Content-Length reference, and Berth's two self-checks. */
export async function streamedScenario(ctx: Context): Promise<void> {
  const { blob, servers, report, sizes } = ctx;
  const mib = blob.size / MiB;
  const framed = new Map<number, string>();
  for (const piece of PIECES) framed.set(piece, await frameFile(blob.file, piece));
  try {
    // The reference and the three piece sizes, round by round.
    const variants: (number | null)[] = [null, ...PIECES];
    const rows = await report.compareAll(
      servers,
      variants.map((piece) => ({
        scenario: piece === null
          ? "  the same bytes in one PATCH with Content-Length"
          : `streamed PATCH ${mib} MiB in ${label(piece)} pieces`,
        unit: "MB/s",
        higherIsBetter: true,
        target: piece === null ? null : { ratioAtLeast: 1.5 },
      })),
      sizes.repeats,
      async (s, r, i) => {
        const piece = variants[r];
        const repo = `bench/streamed${piece ?? "cl"}-${i}`;
        const seconds = piece === null
          ? await pushStreamed(s.url, repo, blob.file, blob.size, blob.digest)
          : await pushStreamed(s.url, repo, framed.get(piece)!, null, blob.digest);
        return mib / seconds;
      },
    );
    // Streamed rows first in the table, the reference under them.
    const reference = rows[0];
    report.rows.splice(report.rows.length - rows.length, rows.length, ...rows.slice(1), reference);
    const streamed = new Map<number, Row>(PIECES.map((p, i) => [p, rows[i + 1]]));
    const worst = Math.min(...[...streamed.values()].map((r) => r.berth ?? 0));
    const pieces = PIECES.map((p) =>
      `${label(p)} ${((streamed.get(p)!.berth ?? 0) / (reference.berth ?? NaN)).toFixed(2)}x`
    );
    report.add({
      scenario: "  Berth: slowest streamed figure / its Content-Length figure",
      unit: "x",
      berth: reference.berth ? worst / reference.berth : null,
      distribution: null,
      higherIsBetter: true,
      target: { berthAtLeast: 0.8 },
      berthOnly: true,
      notes: [`per piece size: ${pieces.join(", ")}`],
    });
    await linearity(ctx, framed.get(32 * 1024)!);
  } finally {
    for (const file of framed.values()) await Deno.remove(file).catch(() => {});
  }
}

/**
 * Berth alone: a streamed push (32 KiB pieces) of 4x the blob against the blob itself.
 * Linear is 4x the time; Deno.serve's own HTTP/1 path made it 16x and more.
 */
async function linearity(ctx: Context, framedSmall: string): Promise<void> {
  const { blob, servers, report, sizes, root } = ctx;
  const berth = servers.find((s) => s.name === "berth")!;
  const large = `${root}/streamed-4x.bin`;
  const digest = await randomFile(large, 4 * blob.size);
  const framedLarge = await frameFile(large, 32 * 1024);
  try {
    const small: number[] = [];
    const big: number[] = [];
    for (let i = 0; i < sizes.repeats; i++) {
      small.push(await pushStreamed(berth.url, `bench/lin-s${i}`, framedSmall, null, blob.digest));
      big.push(await pushStreamed(berth.url, `bench/lin-l${i}`, framedLarge, null, digest));
    }
    const ratio = median(big)! / median(small)!;
    report.add({
      scenario: `  Berth: time for ${4 * blob.size / MiB} MiB / time for ${blob.size / MiB} MiB`,
      unit: "x",
      berth: ratio,
      distribution: null,
      higherIsBetter: false,
      target: { berthBelow: 5 },
      berthOnly: true,
      samples: { berth: big.map((b, i) => b / small[i]), distribution: [] },
    });
  } finally {
    await Deno.remove(large).catch(() => {});
    await Deno.remove(framedLarge).catch(() => {});
  }
}
