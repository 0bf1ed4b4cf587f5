import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry } from "../helpers/registry.ts";
import { Layout, layoutBlobs } from "../helpers/images.ts";
import { skopeo } from "./skopeo.ts";

const MiB = 1024 * 1024;
const push = ["copy", "--dest-tls-verify=false", "--preserve-digests"];
const pull = ["copy", "--src-tls-verify=false", "--preserve-digests"];

function sha256(text: string): string {
  return "sha256:" + createHash("sha256").update(text).digest("hex");
}

Deno.test("skopeo pushes and pulls through Berth with identical digests", async (t) => {
  const reg = await startRegistry({ storage: "disk" });
  const layout = await Layout.create();
  const out = await Deno.makeTempDir({ prefix: "berth-pulled-" });
  const registry = `docker://${reg.host}`;
  try {
    await t.step("a multi-layer OCI image", async () => {
      const image = await layout.image([MiB, 2 * MiB, 300_000, 10, 4 * MiB]);
      await layout.tag(image, "oci");
      await skopeo(...push, `oci:${layout.dir}:oci`, `${registry}/test/oci:v1`);
      const raw = await skopeo("inspect", "--raw", "--tls-verify=false", `${registry}/test/oci:v1`);
      assert.equal(sha256(raw), image.digest);
      const head = await fetch(`${reg.url}/v2/test/oci/manifests/v1`, { method: "HEAD" });
      assert.equal(head.headers.get("docker-content-digest"), image.digest);
      assert.equal(head.headers.get("content-type"), image.mediaType);
      await skopeo(...pull, `${registry}/test/oci:v1`, `oci:${out}/oci:v1`);
      const index = JSON.parse(await Deno.readTextFile(`${out}/oci/index.json`));
      assert.equal(index.manifests[0].digest, image.digest);
      const pulled = await layoutBlobs(`${out}/oci`);
      const manifest = JSON.parse(raw);
      const expected = [
        image.digest,
        manifest.config.digest,
        ...manifest.layers.map((l: { digest: string }) => l.digest),
      ];
      assert.deepEqual(pulled, [...new Set(expected)].sort());
      for (const digest of pulled) {
        const a = await Deno.readFile(`${out}/oci/blobs/sha256/${digest.slice(7)}`);
        const b = await Deno.readFile(`${layout.dir}/blobs/sha256/${digest.slice(7)}`);
        assert.deepEqual(a, b, `blob ${digest} differs`);
      }
    });

    await t.step("a Docker schema 2 image keeps its media types and digest", async () => {
      const image = await layout.image([MiB, 500_000], { format: "docker" });
      const dir = await layout.exportDir(image);
      await skopeo(...push, `dir:${dir}`, `${registry}/test/docker:v1`);
      await Deno.remove(dir, { recursive: true });
      const res = await fetch(`${reg.url}/v2/test/docker/manifests/v1`, {
        headers: { Accept: image.mediaType },
      });
      assert.equal(
        res.headers.get("content-type"),
        "application/vnd.docker.distribution.manifest.v2+json",
      );
      assert.equal(sha256(await res.text()), image.digest);
      await skopeo(...pull, `${registry}/test/docker:v1`, `dir:${out}/docker`);
      assert.equal(sha256(await Deno.readTextFile(`${out}/docker/manifest.json`)), image.digest);
    });

    await t.step("a multi-arch index with --all", async () => {
      const { index, children } = await layout.index([MiB, 100_000]);
      await layout.tag(index, "multi");
      await skopeo(...push, "--all", `oci:${layout.dir}:multi`, `${registry}/test/multi:v1`);
      const raw = await skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        `${registry}/test/multi:v1`,
      );
      assert.equal(sha256(raw), index.digest);
      for (const child of children) {
        const res = await fetch(`${reg.url}/v2/test/multi/manifests/${child.digest}`);
        assert.equal(res.status, 200);
        assert.equal(sha256(await res.text()), child.digest);
      }
      await skopeo(...pull, "--all", `${registry}/test/multi:v1`, `oci:${out}/multi:v1`);
      const pulled = JSON.parse(await Deno.readTextFile(`${out}/multi/index.json`));
      assert.equal(pulled.manifests[0].digest, index.digest);
      const blobs = await layoutBlobs(`${out}/multi`);
      for (const child of children) assert.ok(blobs.includes(child.digest));
    });

    await t.step(
      "copies between repositories of the registry (cross-repository mounts)",
      async () => {
        await skopeo(
          "copy",
          "--src-tls-verify=false",
          "--dest-tls-verify=false",
          "--preserve-digests",
          `${registry}/test/oci:v1`,
          `${registry}/other/oci:copied`,
        );
        const a = await skopeo("inspect", "--raw", "--tls-verify=false", `${registry}/test/oci:v1`);
        const b = await skopeo(
          "inspect",
          "--raw",
          "--tls-verify=false",
          `${registry}/other/oci:copied`,
        );
        assert.equal(a, b);
        const manifest = JSON.parse(b);
        for (const layer of manifest.layers) {
          const res = await fetch(`${reg.url}/v2/other/oci/blobs/${layer.digest}`, {
            method: "HEAD",
          });
          assert.equal(res.status, 200);
        }
      },
    );

    await t.step("list-tags, inspect and delete", async () => {
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        `${registry}/test/oci:v1`,
        `${registry}/test/oci:v2`,
      );
      await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        `${registry}/test/oci:v1`,
        `${registry}/test/oci:A`,
      );
      const tags = JSON.parse(
        await skopeo("list-tags", "--tls-verify=false", `${registry}/test/oci`),
      );
      assert.deepEqual(tags.Tags, ["A", "v1", "v2"]);
      const info = JSON.parse(
        await skopeo("inspect", "--tls-verify=false", `${registry}/test/oci:v1`),
      );
      assert.equal(info.Architecture, "amd64");
      assert.equal(info.Layers.length, 5);
      const digest = info.Digest;
      await skopeo("delete", "--tls-verify=false", `${registry}/test/oci:v2`);
      // skopeo deletes by digest: the manifest and every tag pointing at it go.
      assert.equal(
        (await fetch(`${reg.url}/v2/test/oci/manifests/${digest}`, { method: "HEAD" })).status,
        404,
      );
      const after = await (await fetch(`${reg.url}/v2/test/oci/tags/list`)).json();
      assert.deepEqual(after.tags, []);
    });
  } finally {
    await reg.close();
    await layout.remove();
    await Deno.remove(out, { recursive: true });
  }
});
