/**
 * @module
 * The real `podman` against Berth on disk: an image built locally is imported into a
 * throwaway podman store, pushed (as OCI and as Docker schema 2), removed, and pulled
 * back with the same image ID and manifest digests. podman runs as root with vfs storage,
 * cgroupfs and no events; if it cannot run in this sandbox at all, the test is ignored
 * with the reason printed. A missing podman binary is a failure: CI installs it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Layout } from "../helpers/images.ts";
import { startRegistry } from "../helpers/registry.ts";
import { runTool } from "../helpers/tool.ts";

/** podman's global flags for a store that lives and dies with the test. */
function globalFlags(root: string): string[] {
  return [
    "--root",
    `${root}/root`,
    "--runroot",
    `${root}/run`,
    "--tmpdir",
    `${root}/tmp`,
    "--storage-driver=vfs",
    "--cgroup-manager=cgroupfs",
    "--events-backend=none",
    "--log-level=error",
  ];
}

/** A temp directory for one podman store, its temp files and an empty auth file. */
async function newStore(prefix: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(`${root}/tmp`);
  await Deno.writeTextFile(`${root}/auth.json`, '{"auths":{}}');
  return root;
}

/** Runs podman on the store under `root`; returns stdout, or fails with stderr. */
async function podman(root: string, ...args: string[]): Promise<string> {
  return await runTool("podman", [...globalFlags(root), ...args], {
    // Credentials and registry settings of the machine stay out of the test.
    env: { REGISTRY_AUTH_FILE: `${root}/auth.json` },
    label: `podman ${args.join(" ")}`,
  });
}

/**
 * Why podman cannot run here, or null when it can: a store is created and queried.
 * Only a podman that exists but fails is excused; a missing binary throws.
 */
async function podmanProblem(): Promise<string | null> {
  const root = await newStore("berth-podman-probe-");
  try {
    await podman(root, "info", "--format", "{{.Store.GraphDriverName}}");
    return null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error("podman is not on PATH; install it: apt-get install -y podman");
    }
    return (err as Error).message.split("\n").slice(0, 4).join(" ");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

const problem = await podmanProblem();
if (problem) console.warn(`podman_test ignored: podman cannot run here: ${problem}`);

Deno.test({
  name: "podman pushes to Berth and pulls the same image back",
  ignore: problem !== null,
  async fn(t) {
    const reg = await startRegistry({ storage: "disk" });
    const layout = await Layout.create();
    const root = await newStore("berth-podman-");
    const images = async () =>
      (await podman(root, "images", "--noheading", "--format", "{{.ID}} {{.Digest}}"))
        .trim().split("\n").filter(Boolean);
    try {
      const image = await layout.image([700_000, 200_000, 1000]);
      await layout.tag(image, "v1");
      const manifest = JSON.parse(new TextDecoder().decode(await layout.read(image.digest)));
      // podman's image ID is the config digest, so it proves the same image came back.
      const id = manifest.config.digest.slice(7);

      await t.step("podman imports the locally built OCI layout", async () => {
        await podman(root, "pull", `oci:${layout.dir}:v1`);
        const full = (await podman(root, "images", "--no-trunc", "--format", "{{.ID}}")).trim();
        assert.equal(full.replace(/^sha256:/, ""), id);
      });

      const pushed: Record<string, { digest: string; mediaType: string }> = {};
      for (
        const [format, mediaType] of [
          ["oci", "application/vnd.oci.image.manifest.v1+json"],
          ["v2s2", "application/vnd.docker.distribution.manifest.v2+json"],
        ]
      ) {
        await t.step(`podman push --format ${format}`, async () => {
          const ref = `${reg.host}/pod/app:${format}`;
          await podman(root, "tag", id, ref);
          await podman(
            root,
            "push",
            "--tls-verify=false",
            "--format",
            format,
            "--digestfile",
            `${root}/${format}.digest`,
            ref,
          );
          const digest = (await Deno.readTextFile(`${root}/${format}.digest`)).trim();
          const res = await fetch(`${reg.url}/v2/pod/app/manifests/${format}`, {
            headers: { Accept: mediaType },
          });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-type"), mediaType);
          assert.equal(res.headers.get("docker-content-digest"), digest);
          const body = await res.bytes();
          assert.equal("sha256:" + createHash("sha256").update(body).digest("hex"), digest);
          const pushedManifest = JSON.parse(new TextDecoder().decode(body));
          assert.equal(pushedManifest.config.digest, `sha256:${id}`);
          for (const layer of pushedManifest.layers) {
            const blob = await fetch(`${reg.url}/v2/pod/app/blobs/${layer.digest}`, {
              method: "HEAD",
            });
            assert.equal(blob.status, 200, `layer ${layer.digest} is missing`);
            assert.equal(blob.headers.get("content-length"), String(layer.size));
          }
          pushed[format] = { digest, mediaType };
        });
      }

      await t.step("the local image is removed", async () => {
        await podman(root, "rmi", "--all", "--force");
        assert.deepEqual(await images(), []);
      });

      for (const format of ["oci", "v2s2"]) {
        await t.step(`podman pull of the ${format} push gives the same image`, async () => {
          const ref = `${reg.host}/pod/app:${format}`;
          await podman(root, "pull", "--tls-verify=false", ref);
          const inspected = JSON.parse(await podman(root, "image", "inspect", ref))[0];
          assert.equal(inspected.Id, id, "same image ID after the round trip");
          assert.equal(inspected.Digest, pushed[format].digest);
          assert.ok(
            inspected.RepoDigests.includes(`${reg.host}/pod/app@${pushed[format].digest}`),
            JSON.stringify(inspected.RepoDigests),
          );
          await podman(root, "rmi", "--force", ref);
        });
      }
    } finally {
      await reg.close();
      await layout.remove();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
