/**
 * @module
 * Garbage collection over real registries: what goes, what stays and why, the grace,
 * leftovers of crashes, the catalog, and a run that dies half-way.
 */
import assert from "node:assert/strict";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { collect } from "../../src/gc/collector.ts";
import { blobKey } from "../../src/registry/keys.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import {
  getManifest,
  headBlob,
  integrityProblems,
  layers,
  leftovers,
  type Pushed,
  pushImage,
  pushIndex,
  recordDigests,
  storedKeys,
} from "../helpers/gc.ts";
import { assertError, pushBlob, randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";

const run = (reg: TestRegistry, options: Partial<Parameters<typeof collect>[2]> = {}) =>
  collect(reg.runtime.drivers.blobs, reg.runtime.drivers.metadata, {
    grace: 0,
    deleteUntagged: false,
    ...options,
  });

const del = async (url: string) => {
  const res = await fetch(url, { method: "DELETE" });
  await res.body?.cancel();
  assert.equal(res.status, 202, url);
};

Deno.test("distribution's storage example: A's own blobs go, shared ones stay, B pulls", async () => {
  const reg = await startRegistry({ storage: "disk" });
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  try {
    const shared = layers(2);
    const a = await pushImage(reg.url, "example/app", "a", [...shared, randomBytes(5000)]);
    const b = await pushImage(reg.url, "example/app", "b", [...shared, randomBytes(6000)]);
    await del(`${reg.url}/v2/example/app/manifests/${a.digest}`);
    const report = await run(reg);

    const aOwn = [a.digest, a.refs[0], a.refs[3]];
    for (const d of aOwn) {
      assert.equal(await headBlob(reg.url, "example/app", d), 404, `${d} of A is still there`);
      assert.ok(!(await recordDigests(store)).has(d), `the record of ${d} is still there`);
      assert.ok(!(await storedKeys(driver)).has(blobKey(parseDigest(d))), `${d}'s bytes stay`);
    }
    assert.deepEqual(report.removed.blobs.toSorted(), aOwn.toSorted());
    assert.equal(report.reclaimed, a.size + a.sizes[a.refs[0]] + 5000);
    for (const d of b.refs) assert.equal(await headBlob(reg.url, "example/app", d), 200);
    assert.equal(await getManifest(reg.url, "example/app", "b"), 200);
    for (const d of b.refs) {
      const res = await fetch(`${reg.url}/v2/example/app/blobs/${d}`);
      assert.equal(sha256(await res.bytes()), d, "B's blob does not pull intact");
    }
    assert.deepEqual(await integrityProblems(driver, store), []);
    assert.deepEqual(await leftovers(driver, store), []);
    // A second run finds nothing more.
    const again = await run(reg);
    assert.equal(again.removed.blobs.length + again.removed.links.length, 0);
  } finally {
    await reg.close();
  }
});

Deno.test("index children and referrers survive --delete-untagged; what nothing keeps goes", async () => {
  const reg = await startRegistry();
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  const repo = "multi/app";
  try {
    const amd = await pushImage(reg.url, repo, null, layers(2));
    const arm = await pushImage(reg.url, repo, null, layers(2));
    const index = await pushIndex(reg.url, repo, "v1", [amd, arm]);
    const signature = await pushImage(reg.url, repo, null, layers(1), {
      subject: index,
      artifactType: "application/vnd.example.signature",
    });
    const sbom = await pushImage(reg.url, repo, null, layers(1), { subject: amd });
    const junk = await pushImage(reg.url, repo, null, layers(2));
    // A referrer whose subject was never pushed: kept, as deletereferrers is off.
    const absent = { digest: sha256("absent"), size: 6, mediaType: index.mediaType } as const;
    const dangling = await pushImage(reg.url, repo, null, layers(1), {
      subject: { ...absent, refs: [], sizes: {} },
    });
    const report = await run(reg, { deleteUntagged: true });

    assert.deepEqual(report.removed.manifests, [`${repo}@${junk.digest}`]);
    assert.deepEqual(
      report.removed.links.toSorted(),
      junk.refs.map((d) => `${repo}@${d}`).toSorted(),
    );
    assert.deepEqual(report.removed.blobs.toSorted(), [junk.digest, ...junk.refs].toSorted());
    for (const m of [amd, arm, index, signature, sbom, dangling]) {
      assert.equal(await getManifest(reg.url, repo, m.digest), 200, `${m.digest} went`);
      for (const d of m.mediaType === index.mediaType ? [] : m.refs) {
        assert.equal(await headBlob(reg.url, repo, d), 200);
      }
    }
    assert.equal(await getManifest(reg.url, repo, junk.digest), 404);
    const referrers = await (await fetch(`${reg.url}/v2/${repo}/referrers/${index.digest}`)).json();
    assert.deepEqual(referrers.manifests.map((m: { digest: string }) => m.digest), [
      signature.digest,
    ]);
    assert.deepEqual(await integrityProblems(driver, store), []);
    assert.deepEqual(await leftovers(driver, store), []);

    // Deleting the tag leaves the tree untagged: the index and its children go, the
    // referrers stay (their subject is gone, but deletereferrers is off).
    await del(`${reg.url}/v2/${repo}/manifests/v1`);
    const second = await run(reg, { deleteUntagged: true });
    assert.deepEqual(
      second.removed.manifests.toSorted(),
      [amd, arm, index].map((m) => `${repo}@${m.digest}`).toSorted(),
    );
    for (const m of [signature, sbom, dangling]) {
      assert.equal(await getManifest(reg.url, repo, m.digest), 200);
    }
    assert.deepEqual(await integrityProblems(driver, store), []);
    // deletereferrers (a retention policy) removes referrers whose subject is gone.
    const third = await run(reg, {
      deleteUntagged: true,
      retention: {
        dryrun: false,
        policies: [{ repositories: ["multi/**"], deletereferrers: true }],
      },
    });
    assert.deepEqual(
      third.removed.manifests.toSorted(),
      [signature, sbom, dangling].map((m) => `${repo}@${m.digest}`).toSorted(),
    );
    assert.deepEqual(third.removed.repositories, [repo], "the empty repository stays listed");
    assert.deepEqual(await leftovers(driver, store), []);
    assert.deepEqual((await recordDigests(store)).size, 0);
  } finally {
    await reg.close();
  }
});

Deno.test("nothing younger than the grace is removed, and a dry run says why", async () => {
  const reg = await startRegistry();
  try {
    const kept = await pushImage(reg.url, "young/app", "v1", layers(1));
    const junk = await pushImage(reg.url, "young/app", null, layers(1));
    const loose = await pushBlob(reg.url, "young/app", randomBytes(300));
    const dry = await run(reg, { grace: 3600_000, deleteUntagged: true, dryRun: true });
    const why = Object.fromEntries(dry.kept.map((k) => [k.item, k.reason]));
    assert.equal(why[`young/app@${junk.digest}`], "pushed within the grace period");
    assert.equal(why[`young/app layer ${loose.digest}`], "linked within the grace period");
    assert.equal(why[`young/app@${kept.digest}`], "tagged v1");
    assert.equal(why[`young/app layer ${kept.refs[1]}`], "referenced by a live manifest");
    const report = await run(reg, { grace: 3600_000, deleteUntagged: true });
    assert.equal(report.removed.manifests.length + report.removed.links.length, 0);
    assert.equal(report.kept.length, 0, "only a dry run explains");
    const now = await run(reg, { grace: 0, deleteUntagged: true });
    assert.deepEqual(now.removed.manifests, [`young/app@${junk.digest}`]);
    assert.ok(now.removed.links.includes(`young/app@${loose.digest}`));
  } finally {
    await reg.close();
  }
});

Deno.test("a repository left with nothing leaves the catalog, and comes back when pushed", async () => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "gone/app", "v1", layers(1));
    await pushImage(reg.url, "stays/app", "v1", layers(1));
    await del(`${reg.url}/v2/gone/app/manifests/${image.digest}`);
    const report = await run(reg);
    assert.deepEqual(report.removed.repositories, ["gone/app"]);
    const catalog = await (await fetch(`${reg.url}/v2/_catalog`)).json();
    assert.deepEqual(catalog.repositories, ["stays/app"]);
    await assertError(await fetch(`${reg.url}/v2/gone/app/tags/list`), 404, "NAME_UNKNOWN");
    await pushImage(reg.url, "gone/app", "v2", layers(1));
    const back = await (await fetch(`${reg.url}/v2/_catalog`)).json();
    assert.deepEqual(back.repositories, ["gone/app", "stays/app"]);
  } finally {
    await reg.close();
  }
});

Deno.test("bytes no record names go after the grace, unless an upload still holds them", async () => {
  const reg = await startRegistry();
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  const write = (key: string, n: number) =>
    driver.write(key, new Blob([randomBytes(n) as BlobPart]).stream());
  try {
    const kept = await pushImage(reg.url, "crash/app", "v1", layers(1));
    const lost = blobKey(parseDigest(sha256("a crash's leftover")));
    const [orphan, session, named] = [0, 1, 2].map(() => `blobs/_uploaded/${crypto.randomUUID()}`);
    await write(lost, 100);
    await write(orphan, 200);
    await write(session, 300);
    await write(named, 400);
    await store.commit([], [
      { type: "set", key: ["upload", session.split("/").pop()!], value: { repo: "crash/app" } },
      { type: "set", key: ["blob-key", named], value: { digest: sha256("x") } },
    ]);
    const young = await run(reg, { grace: 3600_000 });
    assert.deepEqual(young.removed.orphans, []);
    const report = await run(reg);
    assert.deepEqual(report.removed.orphans.toSorted(), [lost, orphan].toSorted());
    assert.equal(report.reclaimed, 300);
    const keys = await storedKeys(driver);
    assert.ok(keys.has(session) && keys.has(named), "held bytes were removed");
    assert.ok(!keys.has(lost) && !keys.has(orphan));
    for (const d of kept.refs) assert.equal(await headBlob(reg.url, "crash/app", d), 200);
    assert.equal(await store.get(["blob", sha256("a crash's leftover")]), null);
  } finally {
    await reg.close();
  }
});

Deno.test("a digest a writer has claimed is kept until the claim runs out", async () => {
  const reg = await startRegistry();
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  try {
    const bytes = randomBytes(500);
    const digest = sha256(bytes);
    await driver.write(blobKey(parseDigest(digest)), new Blob([bytes as BlobPart]).stream());
    const claim = (until: number) =>
      store.commit([], [{
        type: "set",
        key: ["blob", digest],
        value: { size: 500, pending: true, claims: { writer: until } },
      }]);
    await claim(Date.now() + 60_000);
    const held = await run(reg);
    assert.equal(held.claimed, 1);
    assert.deepEqual(held.removed.blobs, []);
    assert.ok((await storedKeys(driver)).has(blobKey(parseDigest(digest))));
    await claim(Date.now() - 1);
    const expired = await run(reg);
    assert.deepEqual(expired.removed.blobs, [digest]);
    assert.equal(expired.reclaimed, 0, "a pending record's bytes were never counted in place");
    assert.deepEqual(await leftovers(driver, store), []);
  } finally {
    await reg.close();
  }
});

/** A store whose commits fail from the `n`th on, like a process that dies there. */
function dying(store: MetadataStore, n: number): MetadataStore {
  let commits = 0;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "commit") {
        return (...args: Parameters<MetadataStore["commit"]>) => {
          if (++commits >= n) return Promise.reject(new Error("the collector died"));
          return target.commit(...args);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("a run that dies anywhere leaves a consistent registry; the next one finishes", async () => {
  const reg = await startRegistry({ storage: "disk" });
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  try {
    const shared = layers(1);
    for (let round = 1; round <= 6; round++) {
      const images: Pushed[] = [];
      for (let i = 0; i < 4; i++) {
        images.push(
          await pushImage(reg.url, `die/app${i % 2}`, `t${i}`, [...shared, ...layers(2)]),
        );
      }
      await del(`${reg.url}/v2/die/app0/manifests/${images[0].digest}`);
      await del(`${reg.url}/v2/die/app1/manifests/t1`);
      // Dies at its `round`th commit: in marking, in moving records to deleting, or after.
      await collect(driver, dying(store, round), {
        grace: 0,
        deleteUntagged: true,
        deletingMs: 300,
      }).then(() => {}, () => {});
      assert.deepEqual(await integrityProblems(driver, store), [], `died at commit ${round}`);
      for (const image of images.slice(2)) {
        const repo = `die/app${images.indexOf(image) % 2}`;
        for (const d of image.refs) assert.equal(await headBlob(reg.url, repo, d), 200);
      }
      // Writers of a digest a dead run left deleting wait for it to run out, then push.
      const again = await pushImage(reg.url, "die/app0", "again", [...shared, ...layers(1)]);
      assert.equal(await headBlob(reg.url, "die/app0", again.refs[1]), 200);
      await new Promise((r) => setTimeout(r, 350));
      await run(reg, { deleteUntagged: true, deletingMs: 300 });
      assert.deepEqual(await integrityProblems(driver, store), []);
      assert.deepEqual(await leftovers(driver, store), [], `round ${round} left garbage`);
    }
  } finally {
    await reg.close();
  }
});
