/**
 * @module
 * Berth-only: the web UI's server-side render of a repository page when the repository
 * holds 10,000 tags (2,000 images, five tags each, on the filesystem and a Deno KV file,
 * as Berth runs by default). The registry is filled through its facade and closed; a
 * freshly started one (empty caches) then renders the tag pages newest first, following
 * each page's "older" link. The figure is the median time from request to the last byte
 * of the HTML, in process (no network, no client). distribution has no UI.
 */
import { createHash } from "node:crypto";
import { buildConfig } from "../../src/config/mod.ts";
import { silentLogger } from "../../src/log.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import type { Repository } from "../../src/registry/repository.ts";
import { createRuntime, type Runtime } from "../../src/runtime.ts";
import type { Context } from "../context.ts";
import { median } from "../report.ts";

/** Tags in the repository, and tags per image. */
const TAGS = 10_000;
const TAGS_PER_IMAGE = 5;
/** Pushes in flight while filling. */
const FILL_CONCURRENCY = 8;
const REPO = "bench/ui";
const who = { actor: null, requestId: "bench", addr: "", userAgent: "", method: "PUT", host: "" };

const sha256 = (bytes: Uint8Array) =>
  parseDigest(`sha256:${createHash("sha256").update(bytes).digest("hex")}`);

export async function open(dir: string): Promise<Runtime> {
  const config = buildConfig({
    storage: { filesystem: { rootdirectory: `${dir}/blobs` } },
    berth: { datadir: dir },
    log: { level: "error" },
  });
  return await createRuntime(config, { logger: silentLogger });
}

async function pushBlob(repo: Repository, bytes: Uint8Array) {
  const digest = sha256(bytes);
  await repo.uploads.monolithic(digest, new Blob([bytes as BlobPart]).stream());
  return { digest: digest.value, size: bytes.byteLength };
}

/** 2,000 images (ten configs, three shared layers), five tags each. */
export async function fill(repo: Repository): Promise<void> {
  const enc = new TextEncoder();
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(4096 * (i + 1)));
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      ...await pushBlob(repo, bytes),
    });
  }
  const archs = [
    "amd64",
    "arm64",
    "arm",
    "ppc64le",
    "s390x",
    "riscv64",
    "386",
    "mips64le",
    "loong64",
    "wasm",
  ];
  const configs: { mediaType: string; digest: string; size: number }[] = [];
  for (const architecture of archs) {
    const config = enc.encode(
      JSON.stringify({ os: "linux", architecture, config: { Cmd: ["/app"] } }),
    );
    configs.push({
      mediaType: "application/vnd.oci.image.config.v1+json",
      ...await pushBlob(repo, config),
    });
  }
  const images = TAGS / TAGS_PER_IMAGE;
  const put = async (i: number) => {
    const manifest = enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: configs[i % configs.length],
      layers,
      annotations: { "org.opencontainers.image.revision": String(i) },
    }));
    const tags = Array.from({ length: TAGS_PER_IMAGE }, (_, j) => `build-${i}-${j}`);
    await repo.manifests.put(
      tags[0],
      manifest,
      "application/vnd.oci.image.manifest.v1+json",
      tags.slice(1),
    );
  };
  // A few pushes at a time, as a busy CI would make them (their tags do not overlap).
  for (let i = 0; i < images; i += FILL_CONCURRENCY) {
    await Promise.all(
      Array.from({ length: Math.min(FILL_CONCURRENCY, images - i) }, (_, j) => put(i + j)),
    );
  }
}

async function render(runtime: Runtime, path: string): Promise<{ ms: number; html: string }> {
  const t = performance.now();
  const res = await runtime.app.fetch(
    new Request(`http://bench${path}`, { headers: { Accept: "text/html" } }),
  );
  const html = await res.text();
  const ms = performance.now() - t;
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${html.slice(0, 200)}`);
  return { ms, html };
}

/** Fills a registry, restarts it, and walks its tag pages; one row, target < 100 ms. */
export async function uiScenario(ctx: Context): Promise<void> {
  const dir = `${ctx.root}/berth-ui`;
  const pages = ctx.quick ? 10 : 40;
  let runtime = await open(dir);
  let fillSeconds: number, indexMs: number;
  try {
    const t = performance.now();
    await fill(runtime.deps.registry.repository(REPO, who));
    fillSeconds = (performance.now() - t) / 1000;
    // The first listing of a repository indexes its tags once (they already are, here).
    const i = performance.now();
    await runtime.deps.registry.repository(REPO, who).tags.recent(1, null);
    indexMs = performance.now() - i;
  } finally {
    await runtime.close();
  }
  runtime = await open(dir);
  const times: number[] = [];
  let first = 0;
  try {
    let path: string | null = `/ui/r/${REPO}`;
    for (let p = 0; p < pages && path; p++) {
      const { ms, html } = await render(runtime, path);
      const rows = (html.match(/data-tag="/g) ?? []).length;
      if (rows !== 50) throw new Error(`page ${p + 1} shows ${rows} tags, not 50`);
      if (p === 0) first = ms;
      else times.push(ms);
      const next: string | undefined = /href="([^"]+)" rel="next"/.exec(html)?.[1];
      path = next ? next.replaceAll("&amp;", "&") : null;
    }
  } finally {
    await runtime.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  ctx.report.add({
    scenario: `UI: repository page of ${
      TAGS.toLocaleString("en")
    } tags, 50 per page, newest first (render in process, fresh start)`,
    unit: "ms",
    berth: median(times),
    distribution: null,
    higherIsBetter: false,
    target: { berthBelow: 100 },
    berthOnly: true,
    samples: { berth: times, distribution: [] },
    notes: [
      `first page after the start ${
        first.toFixed(0)
      } ms (cold caches; the page waits at most 25 ms for the repository's summary, which goes on counting into the cache); ` +
      `pages 2-${pages}: median over ${times.length}, slowest ${
        sorted[sorted.length - 1]?.toFixed(0)
      } ms; ` +
      `filling ${TAGS} tags through the facade took ${
        fillSeconds.toFixed(1)
      } s, the first tag listing ${indexMs.toFixed(0)} ms`,
    ],
  });
}
