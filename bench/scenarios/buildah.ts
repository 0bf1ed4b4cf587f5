/**
 * @module
 * What a developer does after a build: `buildah push` of an image just built `FROM
 * scratch` around one fresh random layer (256 MiB; 32 MiB with `--quick`). buildah gzips
 * the layer on the fly and streams it as one chunked `PATCH`. A new image every round
 * (built untimed), pushed to both registries, so neither can have the layer already.
 * The store is a throwaway vfs store under the run's temp directory.
 */
import { run } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { randomFile } from "../data.ts";

/** Flags that keep buildah's store under `dir`. */
function store(dir: string): string[] {
  return ["--root", `${dir}/root`, "--runroot", `${dir}/run`, "--storage-driver=vfs"];
}

/** Builds `localhost/bench-<round>:1` around a fresh random file of `size` bytes. */
async function build(dir: string, round: number, size: number): Promise<string> {
  const file = `${dir}/layer-${round}.bin`;
  await randomFile(file, size);
  try {
    const container = (await run("buildah", [...store(dir), "from", "scratch"])).out.trim();
    await run("buildah", [...store(dir), "copy", container, file, "/layer.bin"]);
    const image = `localhost/bench-${round}:1`;
    await run("buildah", [...store(dir), "commit", "--quiet", "--rm", container, image]);
    return image;
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

/** `buildah push` of a freshly built image, both registries, `repeats` rounds. */
export async function buildahScenario(ctx: Context): Promise<void> {
  const { sizes, root, servers, report } = ctx;
  const dir = `${root}/buildah`;
  await Deno.mkdir(dir, { recursive: true });
  const size = ctx.quick ? 32 * MiB : 256 * MiB;
  const images: string[] = [];
  try {
    await report.compare(
      servers,
      `buildah push of a fresh ${size / MiB} MiB layer`,
      "s",
      false,
      { ratioAtLeast: 1.0 },
      sizes.repeats,
      async (s, i) => {
        images[i] ??= await build(dir, i, size);
        const started = performance.now();
        await run("buildah", [
          ...store(dir),
          "push",
          "--quiet",
          "--tls-verify=false",
          images[i],
          `docker://${s.host}/bench/buildah${i}:1`,
        ]);
        return (performance.now() - started) / 1000;
      },
    );
  } finally {
    await run("buildah", [...store(dir), "rmi", "--all", "--force"]).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
