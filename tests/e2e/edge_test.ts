import assert from "node:assert/strict";
import { spawnBerth } from "../helpers/process.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { s3Env } from "../helpers/s3_env.ts";
import { startKvConnect } from "../helpers/kv_connect.ts";
import { Layout, layoutBlobs } from "../helpers/images.ts";
import { skopeo } from "../clients/skopeo.ts";

Deno.test("on an edge runtime: S3 blobs, KV Connect metadata, no filesystem permission", async (t) => {
  const s3 = await startS3rver();
  const kv = await startKvConnect();
  const layout = await Layout.create();
  const out = await Deno.makeTempDir({ prefix: "berth-edge-pull-" });
  // Configuration from the environment only, as on Deno Deploy; no --allow-read/--allow-write.
  const berth = await spawnBerth(
    s3Env(s3, "edge", { REGISTRY_BERTH_METADATA_URL: kv.url, DENO_KV_ACCESS_TOKEN: kv.token }),
    ["--allow-net", "--allow-env"],
  );
  try {
    await t.step("it serves with only --allow-net --allow-env", async () => {
      const health = await (await fetch(`${berth.url}/healthz`)).json();
      assert.deepEqual(health.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]), [
        ["blobs:s3", true],
        ["metadata:kv", true],
      ]);
    });
    await t.step("skopeo pushes and pulls through it with identical digests", async () => {
      const image = await layout.image([2 * 1024 * 1024, 6 * 1024 * 1024, 1000]);
      await layout.tag(image, "edge");
      await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        `oci:${layout.dir}:edge`,
        `docker://${berth.host}/edge/app:v1`,
      );
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        `docker://${berth.host}/edge/app:v1`,
        `oci:${out}:v1`,
      );
      const pulled = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
      assert.equal(pulled.manifests[0].digest, image.digest);
      assert.deepEqual(await layoutBlobs(out), await layoutBlobs(layout.dir));
    });
    await t.step("metadata went through KV Connect", () => {
      assert.ok(kv.counts.write > 5, `only ${kv.counts.write} writes reached the KV server`);
      assert.ok(kv.counts.read > 5);
    });
    await t.step("nothing asked for the filesystem", () => {
      const denied = berth.output.filter((l) =>
        /NotCapable|PermissionDenied|Requires (read|write) access/.test(l)
      );
      assert.deepEqual(denied, []);
    });
  } finally {
    await berth.kill("SIGTERM");
    await kv.close();
    await s3.stop();
    await layout.remove();
    await Deno.remove(out, { recursive: true });
  }
});
