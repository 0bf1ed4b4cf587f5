/**
 * @module
 * The races between pushes and the collector, each forced deterministically: a push is
 * held just before the commit that records it while a whole collection runs, then let
 * go (or the other way round). Whatever the order, a manifest PUT either commits with all
 * its blobs alive or gets `MANIFEST_BLOB_UNKNOWN`, and an upload's bytes are never lost.
 */
import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { collect } from "../../src/gc/collector.ts";
import { integrityProblems, leftovers, OCI_MANIFEST } from "../helpers/gc.ts";
import { assertError, pushBlob, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { startS3rver } from "../helpers/s3rver.ts";

/** A memory store whose first commit matching a predicate waits until released. */
class GatedStore {
  readonly inner = new MemoryMetadataStore();
  #gate: {
    match: (mutations: readonly Mutation[]) => boolean;
    reached: () => void;
    open: Promise<void>;
  } | null = null;

  /** The store the registry uses. */
  readonly store: MetadataStore = new Proxy(this.inner, {
    get: (target, prop) => {
      if (prop === "commit") {
        return async (...args: Parameters<MetadataStore["commit"]>) => {
          const gate = this.#gate;
          if (gate?.match(args[1])) {
            this.#gate = null;
            gate.reached();
            await gate.open;
          }
          return target.commit(...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });

  /**
   * Holds the next commit setting a key of `kind` (and `part`, if given): resolves
   * `reached` when it arrives; `release` lets it through.
   */
  hold(kind: string, part?: string): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((r) => reached = r);
    const open = new Promise<void>((r) => release = r);
    this.#gate = {
      match: (mutations) =>
        mutations.some((m) =>
          m.type === "set" && m.key[0] === kind && (part === undefined || m.key.includes(part))
        ),
      reached,
      open,
    };
    return { reached: arrived, release };
  }
}

async function withRegistry(fn: (reg: TestRegistry, gated: GatedStore) => Promise<void>) {
  const gated = new GatedStore();
  const reg = await startRegistry({ store: gated.store });
  try {
    await fn(reg, gated);
    assert.deepEqual(await integrityProblems(reg.runtime.drivers.blobs, gated.inner), []);
  } finally {
    await reg.close();
  }
}

/** A collection with no grace, on the store itself (never held). */
const collectNow = (reg: TestRegistry, gated: GatedStore) =>
  collect(reg.runtime.drivers.blobs, gated.inner, { grace: 0, deleteUntagged: false });

function manifestOf(
  config: { digest: string; size: number },
  layer: { digest: string; size: number },
) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  });
}

const upload = (base: string, repo: string, bytes: Uint8Array) =>
  fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${sha256(bytes)}`, {
    method: "POST",
    body: bytes as BodyInit,
  });

Deno.test("a manifest PUT whose blobs a collection took meanwhile is refused; pushed again, it commits", async () => {
  await withRegistry(async (reg, gated) => {
    const config = await pushBlob(reg.url, "race/put", "{}");
    const layerBytes = randomBytes(4000);
    const layer = await pushBlob(reg.url, "race/put", layerBytes);
    const text = manifestOf(config, layer);
    // The PUT has checked its references and waits at its commit ...
    const held = gated.hold("manifest");
    const put = putManifest(reg.url, "race/put", "v1", text);
    await held.reached;
    // ... while a collection takes the layers nothing referenced yet.
    const report = await collectNow(reg, gated);
    assert.ok(report.removed.blobs.includes(layer.digest), "the collection took nothing");
    held.release();
    await assertError(await put, 400, "MANIFEST_BLOB_UNKNOWN");
    // The client uploads again, and the PUT goes through.
    await pushBlob(reg.url, "race/put", "{}");
    await pushBlob(reg.url, "race/put", layerBytes);
    assert.equal((await putManifest(reg.url, "race/put", "v1", text)).status, 201);
  });
});

Deno.test("a collection that marked before a PUT committed marks again and keeps its blobs", async () => {
  await withRegistry(async (reg, gated) => {
    const config = await pushBlob(reg.url, "race/mark", "{}");
    const layer = await pushBlob(reg.url, "race/mark", randomBytes(3000));
    // The collection has marked (the layers look unreferenced) and waits at its commit ...
    const held = gated.hold("repo-gc");
    const running = collect(reg.runtime.drivers.blobs, gated.store, {
      grace: 0,
      deleteUntagged: false,
    });
    await held.reached;
    // ... while the manifest that references them commits.
    const put = await putManifest(reg.url, "race/mark", "v1", manifestOf(config, layer));
    assert.equal(put.status, 201);
    held.release();
    const report = await running;
    assert.deepEqual(report.retried, ["race/mark"]);
    assert.deepEqual(report.removed.links, []);
    assert.deepEqual(report.removed.blobs, []);
    const res = await fetch(`${reg.url}/v2/race/mark/blobs/${layer.digest}`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

Deno.test("an upload that relied on stored bytes a collection deleted stores its own", async () => {
  await withRegistry(async (reg, gated) => {
    const bytes = randomBytes(5000);
    await pushBlob(reg.url, "race/a", bytes);
    const gone = await fetch(`${reg.url}/v2/race/a/blobs/${sha256(bytes)}`, { method: "DELETE" });
    assert.equal(gone.status, 202);
    // The upload found the same bytes stored, and waits at the commit that links them ...
    const held = gated.hold("layer", "race/b");
    const pushing = upload(reg.url, "race/b", bytes);
    await held.reached;
    // ... while the collection deletes them (nothing linked them any more).
    const report = await collectNow(reg, gated);
    assert.deepEqual(report.removed.blobs, [sha256(bytes)]);
    held.release();
    const res = await pushing;
    assert.equal(res.status, 201, await res.text());
    const pulled = await fetch(`${reg.url}/v2/race/b/blobs/${sha256(bytes)}`);
    assert.equal(sha256(await pulled.bytes()), sha256(bytes), "the upload's own bytes were lost");
  });
});

Deno.test("a link made after the collection read the links keeps the blob it was about to delete", async () => {
  await withRegistry(async (reg, gated) => {
    const bytes = randomBytes(3000);
    const digest = sha256(bytes);
    await pushBlob(reg.url, "race/old", bytes);
    const gone = await fetch(`${reg.url}/v2/race/old/blobs/${digest}`, { method: "DELETE" });
    assert.equal(gone.status, 202);
    // The collection found the blob linked nowhere and waits at the commit that would
    // start deleting it ...
    const held = gated.hold("blob");
    const running = collect(reg.runtime.drivers.blobs, gated.store, {
      grace: 0,
      deleteUntagged: false,
    });
    await held.reached;
    // ... while an upload of the same bytes links the stored ones (the record unchanged).
    const res = await upload(reg.url, "race/new", bytes);
    assert.equal(res.status, 201);
    held.release();
    const report = await running;
    assert.deepEqual(report.removed.blobs, [], "the collection deleted a blob linked meanwhile");
    const pulled = await fetch(`${reg.url}/v2/race/new/blobs/${digest}`);
    assert.equal(sha256(await pulled.bytes()), digest);
  });
});

Deno.test("bytes an upload put in place are kept while its claim holds, then recorded", async () => {
  await withRegistry(async (reg, gated) => {
    const bytes = randomBytes(6000);
    // The upload has claimed the digest and published its bytes; its link waits ...
    const held = gated.hold("layer", "race/new");
    const pushing = upload(reg.url, "race/new", bytes);
    await held.reached;
    // ... while a collection sees bytes no link names yet.
    const report = await collectNow(reg, gated);
    assert.equal(report.claimed, 1);
    assert.deepEqual(report.removed.blobs, []);
    assert.deepEqual(report.removed.orphans, []);
    held.release();
    assert.equal((await pushing).status, 201);
    const pulled = await fetch(`${reg.url}/v2/race/new/blobs/${sha256(bytes)}`);
    assert.equal(sha256(await pulled.bytes()), sha256(bytes));
    assert.deepEqual(await leftovers(reg.runtime.drivers.blobs, gated.inner), []);
  });
});

Deno.test("a mount of bytes a collection deleted meanwhile becomes an upload", async () => {
  await withRegistry(async (reg, gated) => {
    const bytes = randomBytes(2000);
    const digest = sha256(bytes);
    await pushBlob(reg.url, "race/src", bytes);
    const held = gated.hold("layer", "race/dst");
    const mounting = fetch(
      `${reg.url}/v2/race/dst/blobs/uploads/?mount=${digest}&from=race/src`,
      { method: "POST" },
    );
    await held.reached;
    // The source's link goes (a client deleted it) and the collection takes the blob.
    await gated.inner.commit([], [
      { type: "delete", key: ["layer", "race/src", digest] },
      { type: "delete", key: ["linked", digest, "race/src"] },
    ]);
    assert.deepEqual((await collectNow(reg, gated)).removed.blobs, [digest]);
    held.release();
    const res = await mounting;
    await res.body?.cancel();
    assert.equal(res.status, 202, "a mount of deleted bytes succeeded");
    const head = await fetch(`${reg.url}/v2/race/dst/blobs/${digest}`, { method: "HEAD" });
    assert.equal(head.status, 404);
  });
});

Deno.test("a manifest pushed again while a collection deletes its bytes writes them anew", async () => {
  await withRegistry(async (reg, gated) => {
    const config = await pushBlob(reg.url, "race/m1", "{}");
    const layer = await pushBlob(reg.url, "race/m1", randomBytes(1000));
    const text = manifestOf(config, layer);
    const digest = sha256(text);
    assert.equal((await putManifest(reg.url, "race/m1", "v1", text)).status, 201);
    for (const d of [config.digest, layer.digest]) {
      const res = await fetch(`${reg.url}/v2/race/m2/blobs/uploads/?mount=${d}&from=race/m1`, {
        method: "POST",
      });
      assert.equal(res.status, 201);
    }
    const removed = await fetch(`${reg.url}/v2/race/m1/manifests/${digest}`, { method: "DELETE" });
    assert.equal(removed.status, 202);
    // The PUT into m2 found the manifest's bytes stored and waits at its commit ...
    const held = gated.hold("manifest", "race/m2");
    const put = putManifest(reg.url, "race/m2", "v1", text);
    await held.reached;
    // ... while a collection deletes them: no repository links the manifest any more
    // (the grace keeps the young layer links).
    const report = await collect(reg.runtime.drivers.blobs, gated.inner, {
      grace: 3600_000,
      deleteUntagged: false,
    });
    assert.deepEqual(report.removed.blobs, [digest]);
    held.release();
    assert.equal((await put).status, 201);
    const got = await fetch(`${reg.url}/v2/race/m2/manifests/v1`, {
      headers: { Accept: OCI_MANIFEST },
    });
    assert.equal(sha256(await got.bytes()), digest, "the manifest's bytes are gone");
  });
});

for (const backend of ["filesystem", "s3"] as const) {
  Deno.test(`concurrent pushes of the same bytes and manifest all succeed (${backend})`, async () => {
    const s3 = backend === "s3" ? await startS3rver() : null;
    const reg = await startRegistry(
      s3
        ? { doc: { storage: { s3: { ...s3.options, rootdirectory: "same" } } } }
        : { storage: "disk" },
    );
    try {
      const fresh = randomBytes(20_000);
      const stored = randomBytes(10_000);
      await pushBlob(reg.url, "same/base", stored);
      const repos = Array.from({ length: 12 }, (_, i) => `same/r${i}`);
      const results = await Promise.all([
        ...repos.map((r) => upload(reg.url, r, fresh)),
        ...repos.map((r) => upload(reg.url, r, stored)),
      ]);
      for (const res of results) assert.equal(res.status, 201, await res.text());
      for (const r of repos) {
        for (const bytes of [fresh, stored]) {
          const got = await fetch(`${reg.url}/v2/${r}/blobs/${sha256(bytes)}`);
          assert.equal(sha256(await got.bytes()), sha256(bytes));
        }
      }
      // One manifest, many tags at once, in one repository.
      const config = await pushBlob(reg.url, "same/r0", "{}");
      const text = manifestOf(config, { digest: sha256(fresh), size: fresh.byteLength });
      const puts = await Promise.all(
        Array.from({ length: 12 }, (_, i) => putManifest(reg.url, "same/r0", `t${i}`, text)),
      );
      for (const res of puts) assert.equal(res.status, 201, await res.text());
      // Every byte object is recorded once: the duplicates' own bytes went.
      const { blobs, metadata } = reg.runtime.drivers;
      assert.deepEqual(await leftovers(blobs, metadata), []);
    } finally {
      await reg.close();
      await s3?.stop();
    }
  });
}
