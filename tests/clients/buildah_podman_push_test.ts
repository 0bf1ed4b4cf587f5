/**
 * @module
 * The real `buildah` and `podman` pushing images they just built, as a developer would:
 * each image is built `FROM scratch` with buildah around a fresh 256 MiB random layer, so
 * the clients compress it on the fly and stream it as one chunked `PATCH` without a
 * `Content-Length` (the upload Deno.serve's own HTTP/1 path made slow). Both images are
 * pulled back into a fresh store with the same image IDs and manifest digests.
 *
 * Stores are throwaway (`--root`/`--runroot` in a temp directory, vfs); nothing touches
 * the network. If the tools exist but cannot run in this sandbox, the test is ignored with
 * the reason; a missing binary is a failure (CI installs both).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { randomBytes } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";
import { runTool } from "../helpers/tool.ts";

const MiB = 1024 * 1024;
const LAYER = 256 * MiB;

/** Flags that keep a tool's store (and its temp files) under `root`. */
function storeFlags(tool: "buildah" | "podman", root: string): string[] {
  const flags = ["--root", `${root}/root`, "--runroot", `${root}/run`, "--storage-driver=vfs"];
  if (tool === "podman") {
    flags.push("--tmpdir", `${root}/tmp`, "--cgroup-manager=cgroupfs", "--events-backend=none");
  }
  return flags;
}

/** Runs `tool` on the store under `root`; stdout, or a failure with stderr. */
async function run(tool: "buildah" | "podman", root: string, ...args: string[]): Promise<string> {
  const out = await runTool(tool, [...storeFlags(tool, root), ...args], {
    // The machine's credentials and registry settings stay out of the test.
    env: { REGISTRY_AUTH_FILE: `${root}/auth.json`, TMPDIR: `${root}/tmp` },
    label: `${tool} ${args.join(" ")}`,
  });
  return out.trim();
}

async function newStore(prefix: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(`${root}/tmp`);
  await Deno.writeTextFile(`${root}/auth.json`, '{"auths":{}}');
  return root;
}

/** Why the tools cannot run here (null when they can); a missing binary throws. */
async function problem(): Promise<string | null> {
  const root = await newStore("berth-buildah-probe-");
  try {
    await run("buildah", root, "images");
    await run("podman", root, "info", "--format", "{{.Store.GraphDriverName}}");
    return null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        "buildah or podman is not on PATH; install them: apt-get install -y buildah podman",
      );
    }
    return (err as Error).message.split("\n").slice(0, 4).join(" ");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** Builds `FROM scratch` an image holding one fresh random file; returns its image ID. */
async function build(root: string, name: string): Promise<string> {
  const file = `${root}/tmp/${name}.bin`;
  const out = await Deno.open(file, { write: true, create: true });
  try {
    for (let at = 0; at < LAYER; at += MiB) await out.write(randomBytes(MiB));
  } finally {
    out.close();
  }
  const container = await run("buildah", root, "from", "scratch");
  await run("buildah", root, "copy", container, file, "/layer.bin");
  await run("buildah", root, "config", "--cmd", "/layer.bin", container);
  const id = await run(
    "buildah",
    root,
    "commit",
    "--quiet",
    "--rm",
    container,
    `localhost/${name}:1`,
  );
  await Deno.remove(file);
  return id;
}

const why = await problem();
if (why) console.warn(`buildah_podman_push_test ignored: the tools cannot run here: ${why}`);

Deno.test({
  name: "buildah and podman push freshly built 256 MiB layers as streamed PATCHes",
  ignore: why !== null,
  async fn(t) {
    const streamed: string[] = [];
    const reg = await startRegistry({
      storage: "disk",
      observe: (request) => {
        const h = request.headers;
        if (request.method === "PATCH" && !h.has("content-length") && !h.has("content-range")) {
          streamed.push(new URL(request.url).pathname);
        }
      },
    });
    const root = await newStore("berth-buildah-");
    const pulled = await newStore("berth-buildah-pull-");
    const images: Record<string, { id: string; digest: string }> = {};
    try {
      for (const tool of ["buildah", "podman"] as const) {
        await t.step(`${tool} push of a fresh image`, async () => {
          const id = await build(root, `fresh-${tool}`);
          const ref = `${reg.host}/streamed/${tool}:1`;
          const before = streamed.length;
          await run(
            tool,
            root,
            "push",
            "--tls-verify=false",
            "--digestfile",
            `${root}/${tool}.digest`,
            `localhost/fresh-${tool}:1`,
            `docker://${ref}`,
          );
          const digest = (await Deno.readTextFile(`${root}/${tool}.digest`)).trim();
          images[tool] = { id, digest };
          assert.ok(
            streamed.slice(before).some((p) => p.startsWith(`/v2/streamed/${tool}/blobs/uploads/`)),
            `${tool} sent its layer as a streamed PATCH`,
          );
          const res = await fetch(`${reg.url}/v2/streamed/${tool}/manifests/1`, {
            headers: {
              Accept: "application/vnd.oci.image.manifest.v1+json, " +
                "application/vnd.docker.distribution.manifest.v2+json",
            },
          });
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("docker-content-digest"), digest);
          const manifest = JSON.parse(await res.text());
          assert.equal(manifest.config.digest, `sha256:${id}`);
          assert.equal(manifest.layers.length, 1);
          const [layer] = manifest.layers;
          assert.ok(layer.size > LAYER, `the compressed layer holds ${layer.size} bytes`);
          const blob = await fetch(`${reg.url}/v2/streamed/${tool}/blobs/${layer.digest}`);
          const hash = createHash("sha256");
          let size = 0;
          for await (const chunk of blob.body!) {
            hash.update(chunk);
            size += chunk.length;
          }
          assert.equal(size, layer.size);
          assert.equal(`sha256:${hash.digest("hex")}`, layer.digest, "the layer came back intact");
        });
      }
      for (const tool of ["buildah", "podman"] as const) {
        await t.step(`podman pulls the ${tool} push back: same image, same digest`, async () => {
          const ref = `${reg.host}/streamed/${tool}:1`;
          await run("podman", pulled, "pull", "--tls-verify=false", ref);
          const inspected = JSON.parse(await run("podman", pulled, "image", "inspect", ref))[0];
          assert.equal(inspected.Id, images[tool].id);
          assert.equal(inspected.Digest, images[tool].digest);
          await run("podman", pulled, "rmi", "--force", ref);
        });
      }
    } finally {
      await reg.close();
      await run("podman", root, "rmi", "--all", "--force").catch(() => {});
      await run("buildah", root, "rm", "--all").catch(() => {});
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(pulled, { recursive: true }).catch(() => {});
    }
  },
});
