/**
 * @module
 * The fleet test, for every metadata store a fleet can share: three Berth processes on
 * one S3 bucket (s3rver) upload chunk by chunk round-robin, push with skopeo to one and
 * pull from another, check each other's upload URLs and race for one tag.
 */
import assert from "node:assert/strict";
import { type BerthProcess, spawnBerth } from "./process.ts";
import { startS3rver } from "./s3rver.ts";
import { s3Env } from "./s3_env.ts";
import { Layout } from "./images.ts";
import { assertError, randomBytes, sha256 } from "./oci.ts";
import { skopeo } from "../clients/skopeo.ts";

/** The metadata store a fleet shares: its settings, a name to find in the logs, a cleanup. */
export interface FleetMetadata {
  env: Record<string, string>;
  /** What `describe()` calls the store (`"metadata":"<name>"` in the listening line). */
  name?: string;
  cleanup(): Promise<void>;
}

/** Uploads `data` in `chunk`-sized PATCHes, each to the next instance in turn. */
async function roundRobinUpload(
  fleet: BerthProcess[],
  repo: string,
  data: Uint8Array,
  chunk: number,
) {
  let i = 0;
  const next = () => fleet[i++ % fleet.length].url;
  const post = await fetch(`${next()}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(post.status, 202);
  let location = post.headers.get("location")!;
  for (let at = 0; at < data.byteLength; at += chunk) {
    const part = data.subarray(at, Math.min(at + chunk, data.byteLength));
    const res = await fetch(next() + location, {
      method: "PATCH",
      body: part as BodyInit,
      headers: { "Content-Range": `${at}-${at + part.byteLength - 1}` },
    });
    assert.equal(res.status, 202, await res.text());
    location = res.headers.get("location")!;
  }
  const put = await fetch(`${next()}${location}&digest=${sha256(data)}`, { method: "PUT" });
  assert.equal(put.status, 201, await put.text());
  return sha256(data);
}

/**
 * Registers the fleet test: three Berth processes on one s3rver bucket, sharing the
 * metadata store `metadata` sets up (its settings as `REGISTRY_*` variables). `name`
 * says which store.
 */
export function fleetTest(
  name: string,
  metadata: (dir: string) => Promise<FleetMetadata>,
): void {
  Deno.test(name, async (t) => {
    const s3 = await startS3rver();
    const dir = await Deno.makeTempDir({ prefix: "berth-fleet-" });
    const store = await metadata(dir);
    const env = s3Env(s3, "fleet", { REGISTRY_BERTH_DATADIR: dir, ...store.env });
    const fleet = await Promise.all([0, 1, 2].map(() => spawnBerth(env)));
    const layout = await Layout.create();
    const out = await Deno.makeTempDir({ prefix: "berth-fleet-pull-" });
    try {
      await steps(t, fleet, layout, out);
      if (store.name) {
        for (const b of fleet) {
          assert.ok(b.output.some((l) => l.includes(`"metadata":"${store.name}"`)));
        }
      }
    } finally {
      for (const b of fleet) {
        for (const line of b.output) if (line.includes('"level":"error"')) console.error(line);
      }
      await Promise.all(fleet.map((b) => b.kill("SIGTERM")));
      await s3.stop();
      await store.cleanup();
      await layout.remove();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(out, { recursive: true });
    }
  });
}

/** The steps of the fleet test, on a running fleet. */
async function steps(t: Deno.TestContext, fleet: BerthProcess[], layout: Layout, out: string) {
  await t.step(
    "a blob uploaded chunk by chunk across all instances is whole on each",
    async () => {
      const data = randomBytes(12 * 1024 * 1024 + 12345);
      const digest = await roundRobinUpload(fleet, "fleet/blob", data, 1024 * 1024 + 7);
      for (const b of fleet) {
        const res = await fetch(`${b.url}/v2/fleet/blob/blobs/${digest}`);
        assert.equal(res.status, 200);
        assert.equal(sha256(await res.bytes()), digest);
      }
    },
  );
  await t.step(
    "an image pushed across instances pulls from another with identical digests",
    async () => {
      const image = await layout.image([3 * 1024 * 1024, 700_000]);
      const manifest = JSON.parse(
        await Deno.readTextFile(`${layout.dir}/blobs/sha256/${image.digest.slice(7)}`),
      );
      for (const d of [manifest.config, ...manifest.layers]) {
        const bytes = await Deno.readFile(`${layout.dir}/blobs/sha256/${d.digest.slice(7)}`);
        assert.equal(await roundRobinUpload(fleet, "fleet/img", bytes, 1024 * 1024), d.digest);
      }
      const text = await Deno.readTextFile(`${layout.dir}/blobs/sha256/${image.digest.slice(7)}`);
      const put = await fetch(`${fleet[1].url}/v2/fleet/img/manifests/v1`, {
        method: "PUT",
        body: text,
        headers: { "Content-Type": image.mediaType },
      });
      assert.equal(put.status, 201);
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        `docker://${fleet[2].host}/fleet/img:v1`,
        `oci:${out}:v1`,
      );
      const pulled = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
      assert.equal(pulled.manifests[0].digest, image.digest);
      for (const d of manifest.layers) {
        const a = await Deno.readFile(`${out}/blobs/sha256/${d.digest.slice(7)}`);
        assert.equal(sha256(a), d.digest);
      }
    },
  );
  await t.step("skopeo pushes to one instance and pulls from another, digests kept", async () => {
    const image = await layout.image([2 * 1024 * 1024, 300_000]);
    await layout.tag(image, "rt");
    await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout.dir}:rt`,
      `docker://${fleet[0].host}/fleet/skopeo:rt`,
    );
    const back = `${out}/round-trip`;
    await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--preserve-digests",
      `docker://${fleet[1].host}/fleet/skopeo:rt`,
      `oci:${back}:rt`,
    );
    const index = JSON.parse(await Deno.readTextFile(`${back}/index.json`));
    assert.equal(index.manifests[0].digest, image.digest);
    for (const digest of await layout.closure(image.digest)) {
      const bytes = await Deno.readFile(`${back}/blobs/sha256/${digest.slice(7)}`);
      assert.equal(sha256(bytes), digest);
    }
  });
  await t.step("upload URLs are checked on every instance", async () => {
    const post = await fetch(`${fleet[0].url}/v2/fleet/tok/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location")!;
    const first = await fetch(fleet[1].url + location, { method: "PATCH", body: "abc" });
    assert.equal(first.status, 202);
    await first.body?.cancel();
    // The old URL is stale now: its offset is 0, the upload holds 3 bytes.
    await assertError(
      await fetch(fleet[2].url + location, { method: "PATCH", body: "def" }),
      416,
      "RANGE_INVALID",
    );
    const tampered = location.replace(/_state=([^.]+)\./, (_, p) => `_state=${p}A.`);
    await assertError(
      await fetch(fleet[2].url + tampered, { method: "PATCH", body: "def" }),
      400,
      "BLOB_UPLOAD_INVALID",
    );
  });
  await t.step("two instances racing to push one tag end consistent", async () => {
    const a = await layout.image([1000]);
    const b = await layout.image([2000]);
    for (const img of [a, b]) {
      const m = JSON.parse(
        await Deno.readTextFile(`${layout.dir}/blobs/sha256/${img.digest.slice(7)}`),
      );
      for (const d of [m.config, ...m.layers]) {
        await roundRobinUpload(
          fleet,
          "fleet/race",
          await Deno.readFile(`${layout.dir}/blobs/sha256/${d.digest.slice(7)}`),
          1 << 20,
        );
      }
    }
    const texts = await Promise.all(
      [a, b].map((img) => Deno.readTextFile(`${layout.dir}/blobs/sha256/${img.digest.slice(7)}`)),
    );
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all(
        [0, 1].map((i) =>
          fetch(`${fleet[i].url}/v2/fleet/race/manifests/latest`, {
            method: "PUT",
            body: texts[i],
            headers: { "Content-Type": a.mediaType },
          })
        ),
      );
      for (const r of results) assert.equal(r.status, 201, await r.text());
      const seen = await Promise.all(fleet.map(async (berth) => {
        const res = await fetch(`${berth.url}/v2/fleet/race/manifests/latest`, {
          method: "HEAD",
        });
        return res.headers.get("docker-content-digest");
      }));
      assert.equal(new Set(seen).size, 1, `instances disagree: ${seen}`);
      assert.ok([a.digest, b.digest].includes(seen[0]!));
    }
    const tags = await (await fetch(`${fleet[2].url}/v2/fleet/race/tags/list`)).json();
    assert.deepEqual(tags.tags, ["latest"]);
  });
}
