/**
 * End-to-end tests of `GET /v2/<name>/referrers/<digest>`: always a 200 OCI image index,
 * descriptors with `artifactType` (falling back to the config media type) and annotations,
 * `?artifactType=` filtering, `OCI-Subject` on pushes, and removal on DELETE.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest, sha256 } from "../helpers/oci.ts";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";
const SIG = "application/vnd.example.sig";
const SBOM_CONFIG = "application/vnd.example.sbom.config+json";
const enc = new TextEncoder();

interface Pushed {
  text: string;
  digest: string;
  size: number;
}

function described(doc: unknown): Pushed {
  const text = JSON.stringify(doc);
  return { text, digest: sha256(text), size: enc.encode(text).byteLength };
}

/** GET the referrers of `subject`; asserts a 200 OCI index and returns it with the response. */
async function referrers(reg: TestRegistry, repo: string, subject: string, query = "") {
  const res = await fetch(`${reg.url}/v2/${repo}/referrers/${subject}${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), OCI_INDEX);
  assert.equal(res.headers.get("content-length"), String(enc.encode(text).byteLength));
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  const index = JSON.parse(text);
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, OCI_INDEX);
  assert.ok(Array.isArray(index.manifests), text);
  return { res, manifests: index.manifests as Record<string, unknown>[] };
}

function byDigest(manifests: Record<string, unknown>[]) {
  return Object.fromEntries(manifests.map((m) => [m.digest as string, m]));
}

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`referrers (${storage})`, async (t) => {
    const reg = await startRegistry({ storage });
    const repo = "ref/app";
    try {
      const subject = await pushImage(reg.url, repo, 1);
      const empty = await pushBlob(reg.url, repo, "{}");
      const sbomConfig = await pushBlob(reg.url, repo, '{"format":"spdx"}');
      const artifact = async (
        fields: Record<string, unknown>,
        config: object = { mediaType: EMPTY_CONFIG, ...empty },
      ) => {
        const layer = await pushBlob(reg.url, repo, crypto.randomUUID());
        return described({
          schemaVersion: 2,
          mediaType: OCI,
          config,
          layers: [{ mediaType: "application/octet-stream", ...layer }],
          subject: { mediaType: OCI, digest: subject.digest, size: subject.size },
          ...fields,
        });
      };
      const sig = await artifact({
        artifactType: SIG,
        annotations: { "org.example.signer": "alice", "org.opencontainers.image.created": "now" },
      });
      const sbom = await artifact(
        { annotations: { "org.example.kind": "sbom" } },
        { mediaType: SBOM_CONFIG, ...sbomConfig },
      );
      const bare = await artifact({ artifactType: "application/vnd.example.bare" });
      const sigIndex = described({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        artifactType: "application/vnd.example.bundle",
        manifests: [{ mediaType: OCI, digest: sig.digest, size: sig.size }],
        subject: { mediaType: OCI, digest: subject.digest, size: subject.size },
        annotations: { "org.example.bundle": "yes" },
      });

      await t.step("an unknown subject has an empty index, in any repository", async () => {
        for (const r of [repo, "never/pushed"]) {
          for (const digest of [sha256("unknown"), subject.digest]) {
            const { res, manifests } = await referrers(reg, r, digest);
            assert.deepEqual(manifests, []);
            assert.equal(res.headers.get("oci-filters-applied"), null);
          }
        }
        const sha512 = "sha512:" + createHash("sha512").update("x").digest("hex");
        assert.deepEqual((await referrers(reg, repo, sha512)).manifests, []);
      });
      await t.step("a subject that does not exist yet is accepted with OCI-Subject", async () => {
        for (const [ref, a] of [[sig.digest, sig], ["sbom", sbom], ["bare", bare]] as const) {
          const res = await putManifest(reg.url, repo, ref, a.text);
          assert.equal(res.status, 201, await res.text());
          assert.equal(res.headers.get("docker-content-digest"), a.digest);
          assert.equal(res.headers.get("oci-subject"), subject.digest);
        }
        const res = await putManifest(reg.url, repo, "bundle", sigIndex.text, OCI_INDEX);
        assert.equal(res.status, 201, await res.text());
        assert.equal(res.headers.get("oci-subject"), subject.digest);
        await assertError(
          await fetch(`${reg.url}/v2/${repo}/manifests/${subject.digest}`),
          404,
          "MANIFEST_UNKNOWN",
        );
      });
      await t.step("a manifest without subject gets no OCI-Subject", async () => {
        const res = await putManifest(reg.url, repo, "v1", subject.text);
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("oci-subject"), null);
      });
      await t.step("each referrer is described, with artifactType and annotations", async () => {
        const { res, manifests } = await referrers(reg, repo, subject.digest);
        assert.equal(res.headers.get("oci-filters-applied"), null);
        assert.equal(manifests.length, 4);
        assert.deepEqual(byDigest(manifests), {
          [sig.digest]: {
            mediaType: OCI,
            digest: sig.digest,
            size: sig.size,
            artifactType: SIG,
            annotations: {
              "org.example.signer": "alice",
              "org.opencontainers.image.created": "now",
            },
          },
          [sbom.digest]: {
            mediaType: OCI,
            digest: sbom.digest,
            size: sbom.size,
            artifactType: SBOM_CONFIG, // no artifactType: the config media type
            annotations: { "org.example.kind": "sbom" },
          },
          [bare.digest]: {
            mediaType: OCI,
            digest: bare.digest,
            size: bare.size,
            artifactType: "application/vnd.example.bare",
          },
          [sigIndex.digest]: {
            mediaType: OCI_INDEX,
            digest: sigIndex.digest,
            size: sigIndex.size,
            artifactType: "application/vnd.example.bundle",
            annotations: { "org.example.bundle": "yes" },
          },
        });
      });
      await t.step("?artifactType= filters and says so in OCI-Filters-Applied", async () => {
        const cases: [string, string[]][] = [
          [SIG, [sig.digest]],
          [SBOM_CONFIG, [sbom.digest]],
          ["application/vnd.example.bundle", [sigIndex.digest]],
          ["application/vnd.example.none", []],
        ];
        for (const [type, expected] of cases) {
          const query = `?artifactType=${encodeURIComponent(type)}`;
          const { res, manifests } = await referrers(reg, repo, subject.digest, query);
          assert.equal(res.headers.get("oci-filters-applied"), "artifactType");
          assert.deepEqual(manifests.map((m) => m.digest), expected, type);
        }
      });
      await t.step("referrers belong to their repository", async () => {
        assert.deepEqual((await referrers(reg, "ref/other", subject.digest)).manifests, []);
      });
      await t.step("deleting a tag keeps the referrer; deleting the digest drops it", async () => {
        const untag = await fetch(`${reg.url}/v2/${repo}/manifests/sbom`, { method: "DELETE" });
        assert.equal(untag.status, 202);
        let { manifests } = await referrers(reg, repo, subject.digest);
        assert.ok(manifests.some((m) => m.digest === sbom.digest));
        for (const a of [sbom, sig]) {
          const url = `${reg.url}/v2/${repo}/manifests/${a.digest}`;
          assert.equal((await fetch(url, { method: "DELETE" })).status, 202);
        }
        ({ manifests } = await referrers(reg, repo, subject.digest));
        assert.deepEqual(
          manifests.map((m) => m.digest).sort(),
          [bare.digest, sigIndex.digest].sort(),
        );
        const filtered = await referrers(reg, repo, subject.digest, `?artifactType=${SIG}`);
        assert.deepEqual(filtered.manifests, []);
      });
      await t.step("the subject's own deletion leaves its referrers listed", async () => {
        const url = `${reg.url}/v2/${repo}/manifests/${subject.digest}`;
        assert.equal((await fetch(url, { method: "DELETE" })).status, 202);
        assert.equal((await referrers(reg, repo, subject.digest)).manifests.length, 2);
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("referrers: malformed requests", async () => {
  const reg = await startRegistry();
  try {
    for (const digest of ["sha256:nope", "md5:abc", "notadigest", `sha256:${"A".repeat(64)}`]) {
      await assertError(
        await fetch(`${reg.url}/v2/ref/app/referrers/${digest}`),
        400,
        "DIGEST_INVALID",
      );
    }
    await assertError(
      await fetch(`${reg.url}/v2/Ref/App/referrers/${sha256("x")}`),
      400,
      "NAME_INVALID",
    );
    const post = await fetch(`${reg.url}/v2/ref/app/referrers/${sha256("x")}`, { method: "POST" });
    await assertError(post, 405, "UNSUPPORTED");
  } finally {
    await reg.close();
  }
});

Deno.test("referrers: annotations too large for a metadata record are read from the manifest", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const repo = "ref/big";
    const subject = await pushImage(reg.url, repo, 1);
    const empty = await pushBlob(reg.url, repo, "{}");
    const layer = await pushBlob(reg.url, repo, "payload");
    const big = described({
      schemaVersion: 2,
      mediaType: OCI,
      artifactType: "application/vnd.example.big",
      config: { mediaType: EMPTY_CONFIG, ...empty },
      layers: [{ mediaType: "application/octet-stream", ...layer }],
      subject: { mediaType: OCI, digest: subject.digest, size: subject.size },
      annotations: { blob: "y".repeat(70_000) }, // more than a Deno KV value may hold
    });
    const put = await putManifest(reg.url, repo, big.digest, big.text);
    assert.equal(put.status, 201, await put.text());
    const { manifests } = await referrers(reg, repo, subject.digest);
    assert.equal(manifests.length, 1);
    assert.equal((manifests[0].annotations as Record<string, string>).blob.length, 70_000);
  } finally {
    await reg.close();
  }
});
