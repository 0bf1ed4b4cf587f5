/**
 * @module
 * The real `skopeo` binary against Berth on disk: images built locally (OCI, Docker
 * schema 2, a multi-platform index) go in and come back out byte for byte, and
 * list-tags, inspect, delete, same-registry copies and cross-repository mounts behave
 * as skopeo expects. skopeo is required: CI installs it, so a missing binary fails.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Logger } from "../../src/log.ts";
import { Layout, layoutBlobs, OCI_INDEX, type Written } from "../helpers/images.ts";
import { startRegistry } from "../helpers/registry.ts";
import { skopeo } from "./skopeo.ts";

const MiB = 1024 * 1024;
// --preserve-digests makes skopeo fail rather than convert or recompress anything.
const push = ["copy", "--dest-tls-verify=false", "--preserve-digests"];
const pull = ["copy", "--src-tls-verify=false", "--preserve-digests"];
const both = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--preserve-digests"];

function sha256(bytes: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** One access-log line of the registry. */
interface Logged {
  method: string;
  route: string;
  repo?: string;
  status: number;
}

/** A logger keeping the access log and every error line, for assertions. */
function recorder(requests: Logged[], errors: string[]): Logger {
  return {
    debug() {},
    info: (msg, fields) => {
      if (msg === "request") requests.push(fields as unknown as Logged);
    },
    warn() {},
    error: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`),
  };
}

Deno.test("skopeo pushes and pulls through Berth with identical digests", async (t) => {
  const found = await new Deno.Command("skopeo", { args: ["--version"], stdout: "null" })
    .output()
    .catch((err) => err as Error);
  if (found instanceof Error || !found.success) {
    throw new Error(`skopeo is not usable (${found}); install it: apt-get install -y skopeo`);
  }

  const requests: Logged[] = [];
  const errors: string[] = [];
  const reg = await startRegistry({ storage: "disk", logger: recorder(requests, errors) });
  const layout = await Layout.create();
  const out = await Deno.makeTempDir({ prefix: "berth-pulled-" });
  const registry = `docker://${reg.host}`;
  const inspectRaw = (ref: string, ...flags: string[]) =>
    skopeo("inspect", "--raw", "--tls-verify=false", ...flags, `${registry}/${ref}`);

  /** Asserts `repo` serves every blob of `digests` with the layout's exact bytes. */
  async function assertServes(repo: string, digests: string[]) {
    for (const digest of digests) {
      const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
      assert.equal(res.status, 200, `${repo} lacks ${digest}`);
      assert.equal(res.headers.get("docker-content-digest"), digest);
      assert.deepEqual(await res.bytes(), await layout.read(digest), `${repo}: ${digest} differs`);
    }
  }

  /** Asserts the manifest under `ref` is `expected` by tag and by digest, exact bytes. */
  async function assertManifest(repo: string, ref: string, expected: Written) {
    for (const reference of [ref, expected.digest]) {
      const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
        headers: { Accept: expected.mediaType },
      });
      assert.equal(res.status, 200, `${repo}:${reference}`);
      assert.equal(res.headers.get("docker-content-digest"), expected.digest);
      assert.equal(res.headers.get("content-type"), expected.mediaType);
      assert.deepEqual(await res.bytes(), await layout.read(expected.digest));
    }
  }

  /** Asserts a pulled OCI layout holds exactly the blobs of `image`, byte for byte. */
  async function assertPulled(dir: string, image: Written) {
    const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, image.digest);
    assert.equal(index.manifests[0].mediaType, image.mediaType);
    const expected = await layout.closure(image.digest);
    assert.deepEqual(await layoutBlobs(dir), expected);
    for (const digest of expected) {
      const bytes = await Deno.readFile(`${dir}/blobs/sha256/${digest.slice(7)}`);
      assert.deepEqual(bytes, await layout.read(digest), `pulled blob ${digest} differs`);
    }
  }

  let oci: Written;
  let docker: Written;
  try {
    await t.step("a five-layer OCI image goes in and comes out unchanged", async () => {
      oci = await layout.image([MiB, 2 * MiB, 300_000, 10, 512 * 1024]);
      await layout.tag(oci, "oci");
      await skopeo(...push, `oci:${layout.dir}:oci`, `${registry}/test/oci:v1`);
      assert.equal(sha256(await inspectRaw("test/oci:v1")), oci.digest);
      const head = await fetch(`${reg.url}/v2/test/oci/manifests/v1`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("docker-content-digest"), oci.digest);
      assert.equal(head.headers.get("content-length"), String(oci.size));
      await assertManifest("test/oci", "v1", oci);
      await assertServes("test/oci", await layout.closure(oci.digest));
      await skopeo(...pull, `${registry}/test/oci:v1`, `oci:${out}/oci:v1`);
      await assertPulled(`${out}/oci`, oci);
    });

    await t.step("a Docker schema 2 image keeps its media types and digest", async () => {
      docker = await layout.image([MiB, 500_000], { format: "docker" });
      const dir = await layout.exportDir(docker);
      await skopeo(...push, `dir:${dir}`, `${registry}/test/docker:v1`);
      assert.equal(sha256(await inspectRaw("test/docker:v1")), docker.digest);
      await assertManifest("test/docker", "v1", docker);
      const closure = await layout.closure(docker.digest);
      await assertServes("test/docker", closure);
      await skopeo(...pull, `${registry}/test/docker:v1`, `dir:${out}/docker`);
      assert.deepEqual(
        await Deno.readFile(`${out}/docker/manifest.json`),
        await layout.read(docker.digest),
      );
      for (const digest of closure.filter((d) => d !== docker.digest)) {
        const bytes = await Deno.readFile(`${out}/docker/${digest.slice(7)}`);
        assert.deepEqual(bytes, await layout.read(digest), `pulled blob ${digest} differs`);
      }
    });

    await t.step("a multi-arch index with --all, both platforms by digest", async () => {
      const { index, children } = await layout.index([MiB, 100_000]);
      await layout.tag(index, "multi");
      await skopeo(...push, "--all", `oci:${layout.dir}:multi`, `${registry}/test/multi:v1`);
      assert.equal(sha256(await inspectRaw("test/multi:v1")), index.digest);
      await assertManifest("test/multi", "v1", index);
      for (const child of children) {
        const res = await fetch(`${reg.url}/v2/test/multi/manifests/${child.digest}`, {
          headers: { Accept: child.mediaType },
        });
        assert.equal(res.status, 200, `child ${child.digest} is missing`);
        assert.equal(res.headers.get("content-type"), child.mediaType);
        assert.equal(sha256(await res.bytes()), child.digest);
      }
      await assertServes("test/multi", await layout.closure(index.digest));
      assert.equal(index.mediaType, OCI_INDEX);
      await skopeo(...pull, "--all", `${registry}/test/multi:v1`, `oci:${out}/multi:v1`);
      await assertPulled(`${out}/multi`, index);
    });

    await t.step("inspect reports the image and its exact config", async () => {
      const info = JSON.parse(
        await skopeo("inspect", "--tls-verify=false", `${registry}/test/oci:v1`),
      );
      const manifest = JSON.parse(new TextDecoder().decode(await layout.read(oci.digest)));
      assert.equal(info.Digest, oci.digest);
      assert.equal(info.Architecture, "amd64");
      assert.equal(info.Os, "linux");
      assert.deepEqual(info.Layers, manifest.layers.map((l: Written) => l.digest));
      assert.equal(sha256(await inspectRaw("test/oci:v1", "--config")), manifest.config.digest);
    });

    await t.step("a copy inside the registry under a new tag uploads nothing", async () => {
      const before = requests.length;
      await skopeo(...both, `${registry}/test/oci:v1`, `${registry}/test/oci:v2`);
      const uploads = requests.slice(before).filter((r) => r.route.startsWith("upload"));
      assert.deepEqual(uploads, [], "every blob was already in test/oci");
      await assertManifest("test/oci", "v2", oci);
    });

    await t.step("a copy to another repository mounts the blobs across", async () => {
      const before = requests.length;
      await skopeo(...both, `${registry}/test/oci:v1`, `${registry}/other/oci:copied`);
      await assertManifest("other/oci", "copied", oci);
      await assertServes("other/oci", await layout.closure(oci.digest));
      // skopeo knows where each layer lives (its blob-info cache) and asks for a mount;
      // Berth answers 201, so no layer byte is sent again. The config goes up anew.
      const into = requests.slice(before).filter((r) => r.repo === "other/oci");
      const mounts = into.filter((r) => r.route === "upload" && r.status === 201);
      assert.equal(mounts.length, 5, `one mount per layer: ${JSON.stringify(into)}`);
      const chunks = into.filter((r) => r.route === "upload-session" && r.method === "PATCH");
      assert.ok(chunks.length <= 1, `only the config is uploaded: ${JSON.stringify(into)}`);
    });

    await t.step("list-tags lists every pushed tag in lexical order", async () => {
      for (const tag of ["v10", "A", "latest"]) {
        await skopeo(...both, `${registry}/test/oci:v1`, `${registry}/test/oci:${tag}`);
      }
      await skopeo(...both, `${registry}/test/docker:v1`, `${registry}/test/oci:keep`);
      const tags = JSON.parse(
        await skopeo("list-tags", "--tls-verify=false", `${registry}/test/oci`),
      );
      assert.equal(tags.Repository, `${reg.host}/test/oci`);
      assert.deepEqual(tags.Tags, ["A", "keep", "latest", "v1", "v10", "v2"]);
    });

    await t.step("delete removes the manifest and every tag pointing at it", async () => {
      // skopeo resolves the tag and deletes by digest.
      await skopeo("delete", "--tls-verify=false", `${registry}/test/oci:v2`);
      const gone = await fetch(`${reg.url}/v2/test/oci/manifests/${oci.digest}`);
      assert.equal(gone.status, 404);
      assert.equal((await gone.json()).errors[0].code, "MANIFEST_UNKNOWN");
      for (const tag of ["A", "latest", "v1", "v10", "v2"]) {
        const res = await fetch(`${reg.url}/v2/test/oci/manifests/${tag}`, { method: "HEAD" });
        assert.equal(res.status, 404, `tag ${tag} survived the delete`);
      }
      const list = await (await fetch(`${reg.url}/v2/test/oci/tags/list`)).json();
      assert.deepEqual(list.tags, ["keep"]);
      await assertManifest("test/oci", "keep", docker);
      // The copy in the other repository is untouched.
      await assertManifest("other/oci", "copied", oci);
      await assert.rejects(inspectRaw("test/oci:v1"), /manifest unknown/i);
    });

    await t.step("no request failed on the server's side", () => {
      assert.deepEqual(errors, []);
      assert.deepEqual(requests.filter((r) => r.status >= 500), []);
    });
  } finally {
    await reg.close();
    await layout.remove();
    await Deno.remove(out, { recursive: true });
  }
});
