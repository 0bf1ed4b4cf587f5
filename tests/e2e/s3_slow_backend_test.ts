/**
 * Memory while S3 is slower than the client: a Berth process on s3rver behind a proxy that
 * takes part uploads at 60 MB/s receives streamed PATCHes (chunked, 32 KiB pieces, as Go
 * clients send) as fast as the client can send. The client must be held back by TCP, not
 * buffered: the process's peak RSS (VmHWM) stays under the S3 limit of the benchmark and
 * does not grow with the blob size.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startThrottledProxy } from "../helpers/flaky_proxy.ts";
import { randomBytes } from "../helpers/oci.ts";
import { spawnBerth } from "../helpers/process.ts";
import { chunked, RawClient } from "../helpers/raw_http.ts";
import { s3Env } from "../helpers/s3_env.ts";
import { startS3rver } from "../helpers/s3rver.ts";

const MiB = 1024 * 1024;
/** The benchmark's limit for Berth on S3 (`bench/README.md`). */
const S3_LIMIT_MIB = 200;

async function peakMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}

Deno.test("memory stays flat when S3 is slower than the client", async () => {
  const s3 = await startS3rver();
  const proxy = startThrottledProxy(Number(new URL(s3.endpoint).port), 60 * MiB);
  const berth = await spawnBerth(
    s3Env({ ...s3, endpoint: proxy.endpoint }, "slow", {
      REGISTRY_BERTH_METADATA_DRIVER: "memory",
    }),
  );
  try {
    const piece = randomBytes(MiB);
    /** Streams `size` bytes (the same random MiB over and over) and closes the upload. */
    const push = async (repo: string, size: number) => {
      const post = await fetch(`${berth.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
      assert.equal(post.status, 202);
      const location = post.headers.get("location")!;
      const frames = chunked(piece, 32 * 1024).subarray(0, -5);
      const hash = createHash("sha256");
      const c = await RawClient.connect(Number(new URL(berth.url).port));
      try {
        await c.write(
          `PATCH ${location} HTTP/1.1\r\nHost: ${berth.host}\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        for (let at = 0; at < size; at += MiB) {
          await c.write(frames);
          hash.update(piece);
        }
        await c.write("0\r\n\r\n");
        const res = await c.response();
        assert.equal(res.status, 202, res.text());
        const digest = `sha256:${hash.digest("hex")}`;
        const put = await fetch(`${berth.url}${res.headers.location}&digest=${digest}`, {
          method: "PUT",
        });
        assert.equal(put.status, 201, await put.text());
      } finally {
        c.close();
      }
      return await peakMiB(berth.pid);
    };
    // The first push loads the S3 code and its clients; the peak after it is the baseline.
    await push("slow/warm", 32 * MiB);
    const afterSmall = await push("slow/small", 128 * MiB);
    const afterLarge = await push("slow/large", 512 * MiB);
    assert.ok(afterLarge < S3_LIMIT_MIB, `peak RSS ${afterLarge.toFixed(0)} MiB`);
    // Buffering what the backend has not taken yet would add most of the 384 MiB more; the
    // allocator's own slack (more so when parallel tests load the machine) stays far below.
    assert.ok(
      afterLarge - afterSmall < 64,
      `peak RSS grew from ${afterSmall.toFixed(0)} to ${afterLarge.toFixed(0)} MiB ` +
        "when the blob grew from 128 to 512 MiB",
    );
  } finally {
    await berth.kill();
    await proxy.close();
    await s3.stop();
  }
});
