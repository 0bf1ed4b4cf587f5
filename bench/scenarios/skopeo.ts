/**
 * @module
 * Whole images with a real client: `skopeo copy` of a 25-layer OCI image from a layout on
 * disk into each registry, and back out into a fresh layout. Also times the same copy
 * into a local directory: skopeo's own share of both figures, which no registry can cut.
 */
import { skopeoCopy } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { writeImageLayout } from "../image.ts";
import { median } from "../report.ts";

/** Pushes and pulls the image on every server, `repeats` rounds each. */
export async function skopeoScenario(ctx: Context): Promise<void> {
  const { sizes, root, servers, report } = ctx;
  const policy = `${root}/policy.json`;
  await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  const mib = (sizes.layers * sizes.layerSize / MiB).toFixed(0);
  // A new image for every round: skopeo remembers where it has seen a blob and would
  // mount it from an earlier repository instead of pushing it again.
  console.error(`  building ${sizes.repeats} images of ${sizes.layers} layers, ${mib} MiB each`);
  const layouts: string[] = [];
  for (let i = 0; i < sizes.repeats; i++) {
    const dir = `${root}/image-${i}`;
    await writeImageLayout(dir, "bench", sizes.layers, sizes.layerSize);
    layouts.push(dir);
  }
  try {
    await report.compare(
      servers,
      `skopeo push ${sizes.layers} layers, ${mib} MiB`,
      "s",
      false,
      { ratioAtLeast: 1.5 },
      sizes.repeats,
      (s, i) =>
        skopeoCopy(policy, [
          "--dest-tls-verify=false",
          `oci:${layouts[i]}:bench`,
          `docker://${s.host}/bench/img${i}:t`,
        ]),
    );
    const alone: number[] = [];
    for (const layout of layouts) {
      const out = `${root}/skopeo-floor`;
      alone.push(await skopeoCopy(policy, [`oci:${layout}:bench`, `dir:${out}`]));
      await Deno.remove(out, { recursive: true });
    }
    report.add({
      scenario: "  skopeo alone (the same copy into a local dir:)",
      unit: "s",
      berth: median(alone),
      distribution: null,
      higherIsBetter: false,
      target: null,
      berthOnly: true,
      samples: { berth: alone, distribution: [] },
    });
    // A pull is shorter and skopeo's own file work dominates it: more rounds.
    await report.compare(
      servers,
      `skopeo pull ${sizes.layers} layers, ${mib} MiB`,
      "s",
      false,
      { ratioAtLeast: 1.0 },
      sizes.repeats * 3,
      async (s, i) => {
        const out = `${root}/pulled-${s.name}`;
        try {
          return await skopeoCopy(policy, [
            "--src-tls-verify=false",
            `docker://${s.host}/bench/img${i % sizes.repeats}:t`,
            `oci:${out}:t`,
          ]);
        } finally {
          await Deno.remove(out, { recursive: true }).catch(() => {});
        }
      },
    );
  } finally {
    for (const dir of layouts) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
