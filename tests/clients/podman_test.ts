import assert from "node:assert/strict";
import { startRegistry } from "../helpers/registry.ts";
import { Layout } from "../helpers/images.ts";

/** Runs podman with throwaway storage (vfs, no cgroups or events: this runs as root in CI). */
async function podman(root: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("podman", {
    args: [
      "--root",
      `${root}/root`,
      "--runroot",
      `${root}/run`,
      "--storage-driver=vfs",
      "--cgroup-manager=cgroupfs",
      "--events-backend=none",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    out.code,
    0,
    `podman ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`,
  );
  return new TextDecoder().decode(out.stdout);
}

Deno.test("podman pushes to Berth and pulls the same image back", async () => {
  const reg = await startRegistry({ storage: "disk" });
  const layout = await Layout.create();
  const root = await Deno.makeTempDir({ prefix: "berth-podman-" });
  try {
    const image = await layout.image([500_000, 200_000, 1000]);
    await layout.tag(image, "v1");
    await podman(root, "pull", `oci:${layout.dir}:v1`);
    const id = (await podman(root, "images", "--format", "{{.ID}}")).trim();
    const ref = `${reg.host}/pod/app:v1`;
    await podman(root, "tag", id, ref);
    await podman(root, "push", "--tls-verify=false", ref);
    await podman(root, "rmi", "--all", "--force");
    assert.equal((await podman(root, "images", "-q")).trim(), "");
    await podman(root, "pull", "--tls-verify=false", ref);
    assert.equal(
      (await podman(root, "images", "--format", "{{.ID}}")).trim(),
      id,
      "same image ID after the round trip",
    );
    const digest = (await podman(root, "images", "--format", "{{.Digest}}")).trim();
    const head = await fetch(`${reg.url}/v2/pod/app/manifests/v1`, { method: "HEAD" });
    assert.equal(head.headers.get("docker-content-digest"), digest);
  } finally {
    await reg.close();
    await layout.remove();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
