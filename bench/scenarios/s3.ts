/**
 * @module
 * Both registries on the same S3-compatible server (s3rver, a Node.js server writing
 * files, from `tools/node_modules`): the blob transfers again, then Berth's peak memory
 * pushing a 2 GiB blob through S3 (its multipart parts are buffered). Figures here are
 * bounded by s3rver; distribution 2.8.2's s3 driver gets 500s from it on uploads, and its
 * rows then read n/a with the reason.
 */
import { pushMonolithic } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { randomFile } from "../data.ts";
import {
  distributionS3,
  memory,
  type Server,
  startBerth,
  startDistribution,
  track,
} from "../servers.ts";
import { startS3rver } from "../../tests/helpers/s3rver.ts";
import { s3Env } from "../../tests/helpers/s3_env.ts";
import { chunkedScenario, pullScenario, pushScenario } from "./transfer.ts";

/** Runs the S3 rows; with `withRss`, also Berth's peak memory through S3. */
export async function s3Scenario(ctx: Context, withRss: boolean): Promise<void> {
  const { root, sizes, report } = ctx;
  let stopS3: () => Promise<void>;
  let s3;
  try {
    s3 = await startS3rver();
    stopS3 = track(() => s3!.stop());
  } catch (err) {
    report.add({
      scenario: "S3 scenarios",
      unit: "",
      berth: null,
      distribution: null,
      higherIsBetter: true,
      target: null,
      notes: [`skipped: ${(err as Error).message.slice(0, 200)}`],
    });
    return;
  }
  const servers: Server[] = [];
  const distributionNote: string[] = [];
  try {
    const meta = (name: string) => ({ REGISTRY_BERTH_METADATA_PATH: `${root}/${name}/meta.kv` });
    servers.push(await startBerth(`${root}/berth-s3`, s3Env(s3, "berth", meta("berth-s3"))));
    try {
      servers.push(
        await startDistribution(`${root}/distribution-s3`, distributionS3(s3, "distribution")),
      );
    } catch (err) {
      distributionNote.push(`distribution did not start: ${(err as Error).message.slice(0, 160)}`);
    }
    const where = { servers, label: "S3" };
    const before = report.rows.length;
    await pushScenario(ctx, where);
    await chunkedScenario(ctx, where);
    await pullScenario(ctx, where, false);
    for (const row of report.rows.slice(before)) row.notes.push(...distributionNote);
    if (!withRss) return;
    for (const s of servers) await s.stop();
    servers.length = 0;
    const berth = await startBerth(`${root}/berth-s3-rss`, s3Env(s3, "rss", meta("berth-s3-rss")));
    servers.push(berth);
    const file = `${root}/s3rss.bin`;
    const digest = await randomFile(file, sizes.s3RssBlob);
    try {
      const seconds = await pushMonolithic(berth.url, "bench/s3rss", file, digest);
      report.add({
        scenario: `Berth peak RSS pushing a ${sizes.s3RssBlob / MiB} MiB blob through S3`,
        unit: "MiB",
        berth: (await memory(berth.pid)).peak,
        distribution: null,
        higherIsBetter: false,
        target: { berthBelow: 200 },
        berthOnly: true,
        notes: [`${(sizes.s3RssBlob / MiB / seconds).toFixed(0)} MB/s into s3rver`],
      });
    } finally {
      await Deno.remove(file).catch(() => {});
    }
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    await stopS3();
  }
}
