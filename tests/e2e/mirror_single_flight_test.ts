import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { pushBlob, randomBytes } from "../helpers/oci.ts";
import { mirrorStats, startMirror } from "../helpers/mirror.ts";
import { spawnBerth } from "../helpers/process.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startUpstreamProxy } from "../helpers/upstream_proxy.ts";

const MiB = 1024 * 1024;
const PULLS = 16;

/** Streams a blob GET and returns its status, size and digest (nothing kept in memory). */
async function pull(url: string): Promise<{ status: number; bytes: number; digest: string }> {
  const res = await fetch(url);
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of res.body!) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { status: res.status, bytes, digest: `sha256:${hash.digest("hex")}` };
}

Deno.test("16 concurrent cold pulls of a 64 MiB blob through one Berth fetch it once", async () => {
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const mirror = await startMirror([{ prefix: "up.test", remoteurl: proxy.url }], {
    storage: "disk",
  });
  try {
    const data = randomBytes(64 * MiB);
    const { digest } = await pushBlob(upstream.url, "team/big", data);
    const url = `${mirror.url}/v2/up.test/team/big/blobs/${digest}`;
    const results = await Promise.all(Array.from({ length: PULLS }, () => pull(url)));
    for (const r of results) assert.deepEqual(r, { status: 200, bytes: data.byteLength, digest });
    assert.equal(proxy.count("GET", /\/blobs\//), 1, "one upstream GET");
    assert.equal(proxy.count("HEAD", /\/blobs\//), 1, "one upstream HEAD");
    const stats = mirrorStats(mirror.runtime, "up.test");
    assert.equal(stats.misses, PULLS);
    assert.ok(stats.upstreamBytes >= data.byteLength && stats.upstreamBytes < 2 * data.byteLength);
    proxy.reset();
    const warm = await pull(url);
    assert.deepEqual(warm, { status: 200, bytes: data.byteLength, digest });
    assert.deepEqual(proxy.seen, [], "a warm pull fetches nothing");
  } finally {
    await mirror.close();
    await proxy.close();
    await upstream.close();
  }
});

Deno.test("16 concurrent cold pulls across a fleet of three instances fetch the blob once", async () => {
  const upstream = await startRegistry();
  const proxy = startUpstreamProxy(upstream.url);
  const dir = await Deno.makeTempDir({ prefix: "berth-mirror-fleet-" });
  const env = {
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_BERTH_METADATA_PATH: `${dir}/shared.kv`,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
    REGISTRY_BERTH_MIRRORS_0_PREFIX: "up.test",
    REGISTRY_BERTH_MIRRORS_0_REMOTEURL: proxy.url,
  };
  const fleet = await Promise.all([0, 1, 2].map(() => spawnBerth(env)));
  try {
    const data = randomBytes(64 * MiB);
    const { digest } = await pushBlob(upstream.url, "team/big", data);
    const results = await Promise.all(
      Array.from(
        { length: PULLS },
        (_, i) => pull(`${fleet[i % 3].url}/v2/up.test/team/big/blobs/${digest}`),
      ),
    );
    for (const r of results) assert.deepEqual(r, { status: 200, bytes: data.byteLength, digest });
    assert.equal(proxy.count("GET", /\/blobs\//), 1, "one upstream GET for the whole fleet");
    assert.ok(proxy.count("HEAD", /\/blobs\//) <= 3, "at most one HEAD per instance");
    proxy.reset();
    for (const b of fleet) {
      const warm = await pull(`${b.url}/v2/up.test/team/big/blobs/${digest}`);
      assert.deepEqual(warm, { status: 200, bytes: data.byteLength, digest });
    }
    assert.deepEqual(proxy.seen, [], "warm pulls on every instance fetch nothing");
  } finally {
    await Promise.all(fleet.map((b) => b.kill()));
    await proxy.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
