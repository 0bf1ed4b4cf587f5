import assert from "node:assert/strict";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest, sha256 } from "../helpers/oci.ts";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** Follows `Link` headers from `path`, returning every page's items. */
async function walk(reg: TestRegistry, path: string, key: string): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | null = path;
  while (next) {
    const res: Response = await fetch(reg.url + next);
    assert.equal(res.status, 200);
    pages.push((await res.json())[key]);
    const link = res.headers.get("link");
    next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : null;
  }
  return pages;
}

Deno.test("tags list: lexical order and pagination", async (t) => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "l/app", 1);
    const tags = ["v10", "v2", "V1", "latest", "1.0", "a_b", "A", "z", "m-1", "m.1"];
    for (const tag of [...tags].sort(() => Math.random() - 0.5)) {
      assert.equal((await putManifest(reg.url, "l/app", tag, image.text)).status, 201);
    }
    const sorted = [...tags].sort();
    await t.step("all tags, sorted", async () => {
      const res = await fetch(`${reg.url}/v2/l/app/tags/list`);
      assert.deepEqual(await res.json(), { name: "l/app", tags: sorted });
      assert.equal(res.headers.get("link"), null);
    });
    await t.step("n and last page through, with Link exactly when more remain", async () => {
      const pages = await walk(reg, "/v2/l/app/tags/list?n=3", "tags");
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 3, 1]);
      assert.deepEqual(pages.flat(), sorted);
      const exact = await walk(reg, "/v2/l/app/tags/list?n=10", "tags");
      assert.equal(exact.length, 1, "no Link when the page holds the rest");
      const res = await fetch(`${reg.url}/v2/l/app/tags/list?n=2&last=${sorted[4]}`);
      assert.deepEqual((await res.json()).tags, sorted.slice(5, 7));
      assert.match(res.headers.get("link")!, new RegExp(`last=${sorted[6]}`));
    });
    await t.step("n=0 is an empty list", async () => {
      const res = await fetch(`${reg.url}/v2/l/app/tags/list?n=0`);
      assert.deepEqual(await res.json(), { name: "l/app", tags: [] });
    });
    await t.step("bad n and unknown repositories", async () => {
      for (const n of ["-1", "abc", "1.5"]) {
        await assertError(
          await fetch(`${reg.url}/v2/l/app/tags/list?n=${n}`),
          400,
          "PAGINATION_NUMBER_INVALID",
        );
      }
      await assertError(await fetch(`${reg.url}/v2/l/none/tags/list`), 404, "NAME_UNKNOWN");
    });
  } finally {
    await reg.close();
  }
});

Deno.test("catalog: every repository, nested names, paginated", async () => {
  const reg = await startRegistry();
  try {
    const names = ["c/b", "a", "c/a/x", "b-1", "c"];
    for (const name of names) await pushBlob(reg.url, name, name);
    const all = await (await fetch(`${reg.url}/v2/_catalog`)).json();
    assert.deepEqual(all.repositories, [...names].sort());
    const pages = await walk(reg, "/v2/_catalog?n=2", "repositories");
    assert.deepEqual(pages.flat(), [...names].sort());
    assert.deepEqual((await (await fetch(`${reg.url}/v2/_catalog?n=0`)).json()).repositories, []);
    await assertError(await fetch(`${reg.url}/v2/_catalog?n=x`), 400, "PAGINATION_NUMBER_INVALID");
  } finally {
    await reg.close();
  }
});

Deno.test("referrers", async (t) => {
  const reg = await startRegistry();
  try {
    const subject = await pushImage(reg.url, "r/app", 1);
    const empty = await pushBlob(reg.url, "r/app", "{}");
    const artifact = async (
      artifactType: string | null,
      annotations: Record<string, string>,
      configType = "application/vnd.oci.empty.v1+json",
    ) => {
      const layer = await pushBlob(reg.url, "r/app", crypto.randomUUID());
      const manifest: Record<string, unknown> = {
        schemaVersion: 2,
        mediaType: OCI,
        config: { mediaType: configType, ...empty },
        layers: [{ mediaType: "application/octet-stream", ...layer }],
        subject: { mediaType: OCI, digest: subject.digest, size: subject.size },
        annotations,
      };
      if (artifactType) manifest.artifactType = artifactType;
      const text = JSON.stringify(manifest);
      return { text, digest: sha256(text), size: text.length };
    };
    const sig = await artifact("application/vnd.example.sig", { "org.example.signer": "alice" });
    const sbom = await artifact(
      null,
      { "org.example.kind": "sbom" },
      "application/vnd.example.sbom.config",
    );

    await t.step("an unknown subject has an empty index", async () => {
      const res = await fetch(`${reg.url}/v2/r/app/referrers/${sha256("unknown")}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), OCI_INDEX);
      assert.deepEqual(await res.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    });
    await t.step("a subject that does not exist yet is accepted, with OCI-Subject", async () => {
      for (const a of [sig, sbom]) {
        const res = await putManifest(reg.url, "r/app", a.digest, a.text);
        assert.equal(res.status, 201, await res.text());
        assert.equal(res.headers.get("oci-subject"), subject.digest);
      }
    });
    await t.step("referrers carry artifactType (or the config type) and annotations", async () => {
      const res = await fetch(`${reg.url}/v2/r/app/referrers/${subject.digest}`);
      const index = await res.json();
      const byDigest = Object.fromEntries(
        index.manifests.map((m: { digest: string }) => [m.digest, m]),
      );
      assert.deepEqual(byDigest[sig.digest], {
        mediaType: OCI,
        digest: sig.digest,
        size: sig.size,
        artifactType: "application/vnd.example.sig",
        annotations: { "org.example.signer": "alice" },
      });
      assert.equal(byDigest[sbom.digest].artifactType, "application/vnd.example.sbom.config");
      assert.equal(index.manifests.length, 2);
      assert.equal(res.headers.get("oci-filters-applied"), null);
    });
    await t.step("?artifactType= filters", async () => {
      const res = await fetch(
        `${reg.url}/v2/r/app/referrers/${subject.digest}?artifactType=application/vnd.example.sig`,
      );
      assert.equal(res.headers.get("oci-filters-applied"), "artifactType");
      assert.deepEqual((await res.json()).manifests.map((m: { digest: string }) => m.digest), [
        sig.digest,
      ]);
    });
    await t.step("deleting a referrer removes it", async () => {
      assert.equal(
        (await fetch(`${reg.url}/v2/r/app/manifests/${sig.digest}`, { method: "DELETE" })).status,
        202,
      );
      const index = await (await fetch(`${reg.url}/v2/r/app/referrers/${subject.digest}`)).json();
      assert.deepEqual(index.manifests.map((m: { digest: string }) => m.digest), [sbom.digest]);
    });
    await t.step("large annotations are served from the manifest", async () => {
      const big = await artifact("application/vnd.example.big", { blob: "y".repeat(20_000) });
      assert.equal((await putManifest(reg.url, "r/app", "big", big.text)).status, 201);
      const res = await fetch(
        `${reg.url}/v2/r/app/referrers/${subject.digest}?artifactType=application/vnd.example.big`,
      );
      const [entry] = (await res.json()).manifests;
      assert.equal(entry.annotations.blob.length, 20_000);
    });
    await t.step("a malformed subject digest is DIGEST_INVALID", async () => {
      await assertError(
        await fetch(`${reg.url}/v2/r/app/referrers/sha256:nope`),
        400,
        "DIGEST_INVALID",
      );
    });
  } finally {
    await reg.close();
  }
});
