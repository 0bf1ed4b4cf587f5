/**
 * @module
 * The torture test: several clients push images that share layers (monolithic, chunked
 * and mounted uploads), retag, delete manifests and tags, and pull, while the online
 * collector runs every second with no grace and `deleteuntagged` on. Afterwards every
 * tag pulls intact with skopeo, every remaining manifest's blobs exist, and a last run
 * leaves nothing unreferenced. On a filesystem and on S3 (s3rver), both with a Deno KV
 * file.
 *
 * `BERTH_TORTURE_SECONDS` sets how long the clients run on each backend (default 15).
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { skopeo } from "../clients/skopeo.ts";
import type { Logger } from "../../src/log.ts";
import { integrityProblems, leftovers, OCI_MANIFEST } from "../helpers/gc.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { startS3rver } from "../helpers/s3rver.ts";

const SECONDS = Number(Deno.env.get("BERTH_TORTURE_SECONDS") ?? 15);
const CLIENTS = 4;
const REPOS = ["torture/r0", "torture/r1", "torture/r2"];
const TAGS = ["t0", "t1", "t2", "t3"];
const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

interface Stats {
  pushes: number;
  /** PUTs refused with MANIFEST_BLOB_UNKNOWN (a collection took a blob first) and retried. */
  blobUnknown: number;
  retags: number;
  deletes: number;
  pulls: number;
  busy: number;
  /** Anything a correct registry never answers. */
  errors: string[];
}

interface Blob {
  bytes: Uint8Array;
  digest: string;
}

const blob = (bytes: Uint8Array): Blob => ({ bytes, digest: sha256(bytes) });
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client's view of one registry. */
class Client {
  constructor(readonly base: string, readonly stats: Stats) {}

  #unexpected(what: string, res: Response, text: string): void {
    this.stats.errors.push(`${what}: ${res.status} ${text.slice(0, 200)}`);
  }

  /** Uploads `b` into `repo` one of four ways, unless HEAD says it is there. */
  async ensure(repo: string, b: Blob): Promise<void> {
    const head = await fetch(`${this.base}/v2/${repo}/blobs/${b.digest}`, { method: "HEAD" });
    await head.body?.cancel();
    if (head.status === 200) return;
    const mode = Math.floor(Math.random() * 4);
    let res: Response;
    if (mode === 0) {
      res = await fetch(`${this.base}/v2/${repo}/blobs/uploads/?digest=${b.digest}`, {
        method: "POST",
        body: b.bytes as BodyInit,
      });
    } else {
      const from = pick(REPOS.filter((r) => r !== repo));
      const query = mode === 3 ? `?mount=${b.digest}&from=${from}` : "";
      const post = await fetch(`${this.base}/v2/${repo}/blobs/uploads/${query}`, {
        method: "POST",
      });
      await post.body?.cancel();
      if (post.status === 201) return; // mounted
      let location = post.headers.get("location")!;
      let sent = 0;
      if (mode === 2) {
        const half = Math.floor(b.bytes.byteLength / 2);
        const patch = await fetch(this.base + location, {
          method: "PATCH",
          body: b.bytes.subarray(0, half) as BodyInit,
          headers: { "Content-Range": `0-${half - 1}` },
        });
        await patch.body?.cancel();
        if (patch.status !== 202) return this.#unexpected("PATCH", patch, "");
        location = patch.headers.get("location")!;
        sent = half;
      }
      res = await fetch(`${this.base}${location}&digest=${b.digest}`, {
        method: "PUT",
        body: b.bytes.subarray(sent) as BodyInit,
      });
    }
    const text = await res.text();
    if (res.status === 503) this.stats.busy++;
    else if (res.status !== 201) this.#unexpected(`upload of ${b.digest}`, res, text);
  }

  /** Pushes an image of `layers` under `tag`, uploading again what a collection took. */
  async push(repo: string, tag: string, layers: Blob[]): Promise<void> {
    const config = blob(new TextEncoder().encode(JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
      n: Math.random(),
    })));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: config.digest,
        size: config.bytes.byteLength,
      },
      layers: layers.map((l) => ({ mediaType: LAYER, digest: l.digest, size: l.bytes.byteLength })),
    });
    for (let attempt = 0; attempt < 10; attempt++) {
      for (const b of [config, ...layers]) await this.ensure(repo, b);
      const res = await fetch(`${this.base}/v2/${repo}/manifests/${tag}`, {
        method: "PUT",
        body: manifest,
        headers: { "Content-Type": OCI_MANIFEST },
      });
      const text = await res.text();
      if (res.status === 201) {
        this.stats.pushes++;
        return;
      }
      if (res.status === 400 && text.includes("MANIFEST_BLOB_UNKNOWN")) this.stats.blobUnknown++;
      else if (res.status === 503) this.stats.busy++;
      else return this.#unexpected(`PUT ${repo}:${tag}`, res, text);
    }
  }

  /** The digest `tag` names, or null. */
  async resolve(repo: string, tag: string): Promise<string | null> {
    const res = await fetch(`${this.base}/v2/${repo}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST },
    });
    await res.body?.cancel();
    return res.status === 200 ? res.headers.get("docker-content-digest") : null;
  }

  async retag(repo: string): Promise<void> {
    const res = await fetch(`${this.base}/v2/${repo}/manifests/${pick(TAGS)}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    const bytes = await res.bytes();
    if (res.status !== 200) return;
    const put = await fetch(`${this.base}/v2/${repo}/manifests/${pick(TAGS)}`, {
      method: "PUT",
      body: bytes as BodyInit,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    const text = await put.text();
    // The manifest may have been deleted meanwhile and its blobs collected: refused.
    if (put.status === 201) this.stats.retags++;
    else if (
      !(put.status === 400 && text.includes("MANIFEST_BLOB_UNKNOWN")) && put.status !== 503
    ) {
      this.#unexpected("retag", put, text);
    }
  }

  async remove(repo: string): Promise<void> {
    const tag = pick(TAGS);
    const target = Math.random() < 0.5 ? tag : await this.resolve(repo, tag);
    if (!target) return;
    const res = await fetch(`${this.base}/v2/${repo}/manifests/${target}`, { method: "DELETE" });
    const text = await res.text();
    if (res.status === 202) this.stats.deletes++;
    else if (res.status !== 404 && res.status !== 503) this.#unexpected("DELETE", res, text);
  }

  /** Pulls a tag; what a concurrent delete took may be gone, but nothing may be corrupt. */
  async pull(repo: string): Promise<void> {
    const res = await fetch(`${this.base}/v2/${repo}/manifests/${pick(TAGS)}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    const bytes = await res.bytes();
    if (res.status !== 200) return;
    if (sha256(bytes) !== res.headers.get("docker-content-digest")) {
      this.stats.errors.push(`a manifest of ${repo} does not match its digest`);
    }
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    for (const d of [doc.config, ...doc.layers]) {
      const got = await fetch(`${this.base}/v2/${repo}/blobs/${d.digest}`);
      const data = await got.bytes();
      if (got.status === 200 && sha256(data) !== d.digest) {
        this.stats.errors.push(`blob ${d.digest} of ${repo} pulled corrupt`);
      }
    }
    this.stats.pulls++;
  }
}

/** Keeps the collector's log lines: how many runs, and any failure. */
function gcLogger(): { logger: Logger; runs: Record<string, unknown>[]; failures: string[] } {
  const runs: Record<string, unknown>[] = [];
  const failures: string[] = [];
  const none = () => {};
  return {
    runs,
    failures,
    logger: {
      debug: none,
      info: (msg, fields) => {
        if (msg === "garbage collection") runs.push(fields ?? {});
      },
      warn: (msg, fields) => failures.push(`${msg} ${JSON.stringify(fields)}`),
      error: (msg, fields) => failures.push(`${msg} ${JSON.stringify(fields)}`),
    },
  };
}

async function torture(reg: TestRegistry, runs: Record<string, unknown>[]): Promise<Stats> {
  const stats: Stats = {
    pushes: 0,
    blobUnknown: 0,
    retags: 0,
    deletes: 0,
    pulls: 0,
    busy: 0,
    errors: [],
  };
  // Gzip streams of random bytes: real compressed layers, shared across images.
  const shared = Array.from({ length: 6 }, (_, i) => blob(gzipSync(randomBytes(4096 + i * 1500))));
  const deadline = Date.now() + SECONDS * 1000;
  const worker = async () => {
    const client = new Client(reg.url, stats);
    while (Date.now() < deadline) {
      const repo = pick(REPOS);
      const roll = Math.random();
      if (roll < 0.5) {
        const layers = [pick(shared), pick(shared), blob(gzipSync(randomBytes(3000)))];
        await client.push(repo, pick(TAGS), [
          ...new Map(layers.map((l) => [l.digest, l])).values(),
        ]);
      } else if (roll < 0.62) await client.retag(repo);
      else if (roll < 0.8) await client.remove(repo);
      else await client.pull(repo);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  // The job may be running: wait for it, then one last run of its own.
  while (!await reg.runtime.scheduler.runNow("gc")) await pause(50);
  assert.ok(runs.length >= Math.min(5, SECONDS / 3), `only ${runs.length} collections ran`);
  return stats;
}

/** Every tag of every repository pulls intact with skopeo (which checks every digest). */
async function pullEverything(reg: TestRegistry): Promise<number> {
  const out = await Deno.makeTempDir({ prefix: "berth-torture-pull-" });
  let tags = 0;
  try {
    for (const repo of REPOS) {
      const res = await fetch(`${reg.url}/v2/${repo}/tags/list`);
      if (res.status !== 200) {
        await res.body?.cancel();
        continue;
      }
      const listed: string[] = (await res.json()).tags ?? [];
      if (listed.length === 0) continue;
      tags += listed.length;
      await skopeo(
        "sync",
        "--src",
        "docker",
        "--dest",
        "dir",
        "--src-tls-verify=false",
        `${reg.host}/${repo}`,
        out,
      );
      for (const tag of listed) {
        const manifest = await Deno.readFile(
          `${out}/${repo.split("/").pop()}:${tag}/manifest.json`,
        );
        const head = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, {
          method: "HEAD",
          headers: { Accept: OCI_MANIFEST },
        });
        await head.body?.cancel();
        assert.equal(sha256(manifest), head.headers.get("docker-content-digest"), `${repo}:${tag}`);
      }
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
  return tags;
}

async function verify(reg: TestRegistry, stats: Stats, runs: Record<string, unknown>[]) {
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  assert.deepEqual(stats.errors, [], "the registry answered what it never should");
  assert.deepEqual(await integrityProblems(driver, store), []);
  assert.deepEqual(await leftovers(driver, store), [], "the last run left garbage");
  const tags = await pullEverything(reg);
  const removed = runs.reduce((n, r) => n + (r.blobs as number), 0);
  assert.ok(stats.pushes >= 10, `only ${stats.pushes} pushes`);
  assert.ok(removed > 0, "the collections removed nothing: the test proved nothing");
  console.log(
    `  ${stats.pushes} pushes (${stats.blobUnknown} refused and pushed again), ` +
      `${stats.retags} retags, ${stats.deletes} deletes, ${stats.pulls} pulls, ` +
      `${stats.busy} busy; ${runs.length} collections removed ${removed} blobs; ` +
      `${tags} tags pulled with skopeo`,
  );
}

const GC = { gc: { interval: "1s", grace: "0s", deleteuntagged: true } };

Deno.test("torture: pushes, retags and deletes never lose a blob to the collector (filesystem)", async () => {
  const log = gcLogger();
  const reg = await startRegistry({ storage: "disk", logger: log.logger, doc: { berth: GC } });
  try {
    const stats = await torture(reg, log.runs);
    assert.deepEqual(log.failures, []);
    await verify(reg, stats, log.runs);
  } finally {
    await reg.close();
  }
});

Deno.test("torture: pushes, retags and deletes never lose a blob to the collector (S3)", async () => {
  const s3 = await startS3rver();
  const dir = await Deno.makeTempDir({ prefix: "berth-torture-" });
  const log = gcLogger();
  const reg = await startRegistry({
    logger: log.logger,
    doc: {
      storage: { s3: { ...s3.options, rootdirectory: "torture" } },
      berth: { ...GC, metadata: { driver: "kv", path: `${dir}/metadata.kv` } },
    },
  });
  try {
    const stats = await torture(reg, log.runs);
    assert.deepEqual(log.failures, []);
    await verify(reg, stats, log.runs);
  } finally {
    await reg.close();
    await s3.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
