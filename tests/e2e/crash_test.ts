import assert from "node:assert/strict";
import { spawnBerth } from "../helpers/process.ts";
import { pushImage, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";

/** A body that sends `data` slowly enough for the process to be killed mid-stream. */
function trickle(data: Uint8Array, onHalf: () => void): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(c) {
      if (at >= data.byteLength) return c.close();
      if (at >= data.byteLength / 2) {
        onHalf();
        await new Promise((r) => setTimeout(r, 200));
      }
      c.enqueue(data.slice(at, at + 256 * 1024));
      at += 256 * 1024;
    },
  });
}

Deno.test("kill -9 at any moment leaves either nothing or the whole object", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "berth-crash-" });
  const env = {
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
    REGISTRY_BERTH_UPLOADS_LEASE: "1s",
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
  };
  const big = randomBytes(8 << 20);
  let berth = await spawnBerth(env);
  try {
    const image = await pushImage(berth.url, "crash/app", 3);
    assert.equal((await putManifest(berth.url, "crash/app", "stable", image.text)).status, 201);

    // An upload in progress: one chunk committed, the next one cut by SIGKILL.
    const post = await fetch(`${berth.url}/v2/crash/app/blobs/uploads/`, { method: "POST" });
    const first = await fetch(berth.url + post.headers.get("location"), {
      method: "PATCH",
      body: big.subarray(0, 2 << 20) as BodyInit,
      headers: { "Content-Range": `0-${(2 << 20) - 1}` },
    });
    assert.equal(first.status, 202);
    const next = first.headers.get("location")!;
    let killed: Promise<void> | null = null;
    const victim = berth;
    const cut = fetch(victim.url + next, {
      method: "PATCH",
      body: trickle(big.subarray(2 << 20), () => killed ??= victim.kill("SIGKILL")),
    }).catch(() => null);
    // A monolithic push cut the same way.
    const mono = fetch(`${victim.url}/v2/crash/app/blobs/uploads/?digest=${sha256(big)}`, {
      method: "POST",
      body: trickle(big, () => killed ??= victim.kill("SIGKILL")),
    }).catch(() => null);
    await Promise.all([cut, mono]);
    await killed;

    berth = await spawnBerth(env);
    await t.step("the interrupted blobs are not visible", async () => {
      const res = await fetch(`${berth.url}/v2/crash/app/blobs/${sha256(big)}`, { method: "HEAD" });
      assert.equal(res.status, 404);
    });
    await t.step("what was pushed before is intact", async () => {
      const res = await fetch(`${berth.url}/v2/crash/app/manifests/stable`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), image.text);
      for (const layer of image.manifest.layers) {
        const blob = await fetch(`${berth.url}/v2/crash/app/blobs/${layer.digest}`);
        assert.equal(sha256(await blob.bytes()), layer.digest);
      }
    });
    await t.step("the upload resumes from the reported offset", async () => {
      let status: Response;
      // The dead writer's lease (1 s here) must run out before anyone may write.
      for (let i = 0;; i++) {
        status = await fetch(berth.url + next);
        await status.body?.cancel();
        if (status.status === 204) break;
        assert.ok(i < 50);
      }
      assert.equal(status.headers.get("range"), `0-${(2 << 20) - 1}`);
      await new Promise((r) => setTimeout(r, 1100));
      const rest = await fetch(berth.url + status.headers.get("location"), {
        method: "PATCH",
        body: big.subarray(2 << 20) as BodyInit,
        headers: { "Content-Range": `${2 << 20}-${big.byteLength - 1}` },
      });
      assert.equal(rest.status, 202, await rest.text());
      const put = await fetch(`${berth.url}${rest.headers.get("location")}&digest=${sha256(big)}`, {
        method: "PUT",
      });
      assert.equal(put.status, 201, await put.text());
      const blob = await fetch(`${berth.url}/v2/crash/app/blobs/${sha256(big)}`);
      assert.equal(sha256(await blob.bytes()), sha256(big));
    });
    await t.step("tags never point at missing manifests, whenever the kill lands", async () => {
      for (let round = 0; round < 3; round++) {
        const images = await Promise.all(
          [0, 1, 2].map(() => pushImage(berth.url, "crash/tags", 1)),
        );
        const victim = berth;
        const pushes = images.flatMap((img, i) =>
          ["a", "b", "c"].map((tag) =>
            putManifest(victim.url, "crash/tags", `${tag}${i}`, img.text).catch(() => null)
          )
        );
        await new Promise((r) => setTimeout(r, 5 + round * 10));
        await victim.kill("SIGKILL");
        await Promise.all(pushes);
        berth = await spawnBerth(env);
        const list = await (await fetch(`${berth.url}/v2/crash/tags/tags/list`)).json();
        for (const tag of list.tags ?? []) {
          const res = await fetch(`${berth.url}/v2/crash/tags/manifests/${tag}`);
          assert.equal(res.status, 200, `tag ${tag} dangles after a crash`);
          assert.equal(res.headers.get("docker-content-digest"), sha256(await res.text()));
        }
      }
    });
  } finally {
    await berth.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
