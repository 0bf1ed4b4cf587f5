/**
 * @module
 * Moving a registry to a fleet and back with `deno task metadata`: a Berth started with
 * the embedded default (filesystem blobs, a Deno KV file) gets images pushed with skopeo
 * and an upload left half done; its metadata is exported to PostgreSQL (refused while
 * the registry runs), a Berth on PostgreSQL serves every tag and finishes the upload,
 * and the metadata is imported back into a new KV file without losing a tag.
 */
import assert from "node:assert/strict";
import { skopeo } from "../clients/skopeo.ts";
import { Layout, type Written } from "../helpers/images.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { type BerthProcess, spawnBerth } from "../helpers/process.ts";

const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Runs `deno task metadata <args>` with `env`; returns its status and output. */
async function metadataTask(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--config", CONFIG, "metadata", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Every repository's tags, as the registry lists them. */
async function tagsOf(berth: BerthProcess): Promise<Record<string, string[]>> {
  const { repositories } = await (await fetch(`${berth.url}/v2/_catalog`)).json();
  const out: Record<string, string[]> = {};
  for (const repo of repositories) {
    out[repo] = (await (await fetch(`${berth.url}/v2/${repo}/tags/list`)).json()).tags;
  }
  return out;
}

Deno.test("a registry moves from its KV file to PostgreSQL and back without losing a tag", async (t) => {
  const pg = await startPostgres();
  const url = await pg.database();
  const dir = await Deno.makeTempDir({ prefix: "berth-move-" });
  const layout = await Layout.create();
  const kvEnv = { REGISTRY_BERTH_DATADIR: dir, REGISTRY_LOG_ACCESSLOG_DISABLED: "true" };
  const pgEnv = {
    ...kvEnv,
    REGISTRY_BERTH_METADATA_DRIVER: "postgres",
    REGISTRY_BERTH_METADATA_URL: url,
  };
  const backEnv = { ...kvEnv, REGISTRY_BERTH_METADATA_PATH: `${dir}/back.kv` };
  const running: BerthProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const berth = await spawnBerth(env);
    running.push(berth);
    return berth;
  };
  const images: Record<string, Written> = {};
  const pullAll = async (berth: BerthProcess) => {
    for (const [ref, image] of Object.entries(images)) {
      const out = await Deno.makeTempDir({ prefix: "berth-move-pull-" });
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--preserve-digests",
        `docker://${berth.host}/${ref}`,
        `oci:${out}:x`,
      );
      const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
      assert.equal(index.manifests[0].digest, image.digest, ref);
      await Deno.remove(out, { recursive: true });
    }
  };
  const partial = randomBytes(300_000);
  let uploadAt = "";
  let before: Record<string, string[]> = {};
  try {
    const kv = await start(kvEnv);
    await t.step("on the KV file: images pushed with skopeo, an upload half done", async () => {
      for (const [ref, sizes] of [["move/app:v1", [200_000]], ["move/app:v2", [150_000, 9_000]]]) {
        images[ref as string] = await layout.image(sizes as number[]);
      }
      images["move/other:latest"] = images["move/app:v1"];
      for (const [ref, image] of Object.entries(images)) {
        await layout.tag(image, ref.replace(/[/:]/g, "-"));
        await skopeo(
          "copy",
          "--dest-tls-verify=false",
          "--preserve-digests",
          `oci:${layout.dir}:${ref.replace(/[/:]/g, "-")}`,
          `docker://${kv.host}/${ref}`,
        );
      }
      const post = await fetch(`${kv.url}/v2/move/app/blobs/uploads/`, { method: "POST" });
      const patch = await fetch(kv.url + post.headers.get("location"), {
        method: "PATCH",
        body: partial.subarray(0, 100_000) as BodyInit,
        headers: { "Content-Range": "0-99999" },
      });
      assert.equal(patch.status, 202);
      await patch.body?.cancel();
      uploadAt = patch.headers.get("location")!;
      before = await tagsOf(kv);
      assert.deepEqual(before, { "move/app": ["v1", "v2"], "move/other": ["latest"] });
    });

    await t.step("the export is refused while the registry runs", async () => {
      const res = await metadataTask(kvEnv, "export", url);
      assert.equal(res.code, 1, res.stdout + res.stderr);
      assert.match(res.stderr, /is running on the source store/);
    });

    await kv.kill("SIGTERM");

    await t.step("the export to PostgreSQL copies and verifies every record", async () => {
      const res = await metadataTask(kvEnv, "export", url);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /Copying metadata from kv .*metadata\.kv to postgres postgres:/);
      assert.match(res.stdout, /Verified: both stores hold the same \d+ records/);
      assert.ok(!res.stdout.includes(pg.password), "the password is not printed");
      const again = await metadataTask(kvEnv, "export", url);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already holds records/);
    });

    await t.step("Berth on PostgreSQL serves every tag and finishes the upload", async () => {
      const onPg = await start(pgEnv);
      assert.ok(onPg.output.some((l) => l.includes('"metadata":"postgres"')));
      assert.deepEqual(await tagsOf(onPg), before);
      await pullAll(onPg);
      const status = await fetch(onPg.url + uploadAt);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get("range"), "0-99999");
      const put = await fetch(
        `${onPg.url}${status.headers.get("location")}&digest=${sha256(partial)}`,
        {
          method: "PUT",
          body: partial.subarray(100_000) as BodyInit,
          headers: { "Content-Range": `100000-${partial.byteLength - 1}` },
        },
      );
      assert.equal(put.status, 201, await put.text());
      images["move/app:v3"] = await layout.image([50_000]);
      await layout.tag(images["move/app:v3"], "v3");
      await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        `oci:${layout.dir}:v3`,
        `docker://${onPg.host}/move/app:v3`,
      );
      await onPg.kill("SIGTERM");
    });

    await t.step("imported back into a new KV file, nothing is lost", async () => {
      const res = await metadataTask(backEnv, "import", url);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /Copying metadata from postgres .* to kv .*back\.kv/);
      assert.match(res.stdout, /Verified/);
      const back = await start(backEnv);
      assert.deepEqual(await tagsOf(back), {
        "move/app": ["v1", "v2", "v3"],
        "move/other": ["latest"],
      });
      await pullAll(back);
      const blob = await fetch(`${back.url}/v2/move/app/blobs/${sha256(partial)}`);
      assert.equal(sha256(await blob.bytes()), sha256(partial));
    });
  } finally {
    for (const b of running) await b.kill("SIGTERM");
    await layout.remove();
    await pg.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("metadata task: usage and configuration errors exit with 2", async () => {
  const usage = await metadataTask({}, "copy", "x");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Usage: metadata export <location>/);
  const dir = await Deno.makeTempDir({ prefix: "berth-move-" });
  try {
    const missing = await metadataTask({ REGISTRY_BERTH_DATADIR: dir }, "import", `${dir}/none.kv`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /none\.kv" does not exist/);
    const memory = await metadataTask({ REGISTRY_BERTH_METADATA_DRIVER: "memory" }, "export", "x");
    assert.equal(memory.code, 2);
    assert.match(memory.stderr, /"memory": there is nothing to copy/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
