import assert from "node:assert/strict";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest, sha256 } from "../helpers/oci.ts";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

async function get(reg: TestRegistry, repo: string, ref: string, init: RequestInit = {}) {
  return await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, init);
}

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`manifests (${storage}): exact bytes by tag and by digest`, async (t) => {
    const reg = await startRegistry({ storage });
    try {
      const image = await pushImage(reg.url, "m/app", 2);
      // Odd spacing and key order: the registry must store and serve these exact bytes.
      const text = '{\n  "schemaVersion" :2,"mediaType": "' + OCI + '",  "layers": ' +
        JSON.stringify(image.manifest.layers) + ',\n"config":' +
        JSON.stringify(image.manifest.config) + "}\n";
      const digest = sha256(text);
      await t.step("PUT by tag: 201 with Location and digest", async () => {
        const res = await putManifest(reg.url, "m/app", "v1", text);
        assert.equal(res.status, 201, await res.text());
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal(res.headers.get("location"), `/v2/m/app/manifests/${digest}`);
      });
      await t.step("GET by tag and by digest serve the same bytes", async () => {
        for (const ref of ["v1", digest]) {
          const res = await get(reg, "m/app", ref);
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-type"), OCI);
          assert.equal(res.headers.get("docker-content-digest"), digest);
          assert.equal(
            res.headers.get("content-length"),
            String(new TextEncoder().encode(text).byteLength),
          );
          assert.equal(await res.text(), text);
        }
      });
      await t.step("HEAD has headers and no body", async () => {
        const res = await get(reg, "m/app", "v1", { method: "HEAD" });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal((await res.bytes()).byteLength, 0);
      });
      await t.step("PUT by digest; a mismatching digest is DIGEST_INVALID", async () => {
        const res = await putManifest(reg.url, "m/app", digest, text);
        assert.equal(res.status, 201);
        await res.body?.cancel();
        await assertError(
          await putManifest(reg.url, "m/app", sha256("other"), text),
          400,
          "DIGEST_INVALID",
        );
      });
      await t.step("the manifest is readable as a blob of its repository", async () => {
        const res = await fetch(`${reg.url}/v2/m/app/blobs/${digest}`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), text);
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("manifests: every kind the spec names", async (t) => {
  const reg = await startRegistry();
  try {
    await t.step("Docker schema 2 manifest", async () => {
      const image = await pushImage(reg.url, "k/docker", 1);
      const manifest = { ...image.manifest, mediaType: DOCKER };
      const res = await putManifest(reg.url, "k/docker", "d", manifest, DOCKER);
      assert.equal(res.status, 201, await res.text());
      assert.equal((await get(reg, "k/docker", "d")).headers.get("content-type"), DOCKER);
    });
    for (const [type, childType] of [[OCI_INDEX, OCI], [DOCKER_LIST, DOCKER]]) {
      await t.step(`index ${type}`, async () => {
        const a = await pushImage(reg.url, "k/multi", 1);
        const b = await pushImage(reg.url, "k/multi", 1);
        for (const [i, img] of [a, b].entries()) {
          const m = { ...img.manifest, mediaType: childType };
          const r = await putManifest(reg.url, "k/multi", sha256(JSON.stringify(m)), m, childType);
          assert.equal(r.status, 201, `child ${i}: ${await r.text()}`);
        }
        const children = [a, b].map((img, i) => {
          const m = JSON.stringify({ ...img.manifest, mediaType: childType });
          return {
            mediaType: childType,
            digest: sha256(m),
            size: m.length,
            platform: { os: "linux", architecture: i ? "arm64" : "amd64" },
          };
        });
        const index = { schemaVersion: 2, mediaType: type, manifests: children };
        const res = await putManifest(reg.url, "k/multi", "multi", index, type);
        assert.equal(res.status, 201, await res.text());
        const got = await get(reg, "k/multi", "multi");
        assert.equal(got.headers.get("content-type"), type);
        assert.deepEqual(await got.json(), index);
      });
    }
    await t.step("an artifact with any config type and an artifactType", async () => {
      const config = await pushBlob(reg.url, "k/art", "{}");
      const layer = await pushBlob(reg.url, "k/art", "signature bytes");
      const artifact = {
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: "application/vnd.example.sig",
        config: { mediaType: "application/vnd.oci.empty.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.example.sig.v1", ...layer }],
      };
      const res = await putManifest(reg.url, "k/art", "sig", artifact);
      assert.equal(res.status, 201, await res.text());
    });
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: every refusal has its code", async (t) => {
  const reg = await startRegistry({ doc: { berth: { manifests: { maxbytes: 64 * 1024 } } } });
  try {
    const image = await pushImage(reg.url, "bad/app", 1);
    await t.step("malformed manifests are MANIFEST_INVALID", async () => {
      const cases: [unknown, string][] = [
        ["{not json", OCI],
        [{ ...image.manifest, schemaVersion: 1 }, OCI],
        [image.manifest, DOCKER],
        [{ ...image.manifest, mediaType: "text/x-nope" }, "text/x-nope"],
        [{
          ...image.manifest,
          mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws",
        }, "application/vnd.docker.distribution.manifest.v1+prettyjws"],
        [{
          ...image.manifest,
          layers: [{ ...image.manifest.layers[0], size: image.manifest.layers[0].size + 1 }],
        }, OCI],
      ];
      for (const [doc, type] of cases) {
        await assertError(
          await putManifest(reg.url, "bad/app", "x", doc as object, type),
          400,
          "MANIFEST_INVALID",
        );
      }
    });
    await t.step(
      "missing blobs are MANIFEST_BLOB_UNKNOWN, missing children MANIFEST_UNKNOWN",
      async () => {
        const missing = {
          ...image.manifest,
          layers: [{
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            digest: sha256("missing"),
            size: 7,
          }],
        };
        await assertError(
          await putManifest(reg.url, "bad/app", "x", missing),
          400,
          "MANIFEST_BLOB_UNKNOWN",
        );
        const noConfig = {
          ...image.manifest,
          config: { ...image.manifest.config, digest: sha256("no config") },
        };
        await assertError(
          await putManifest(reg.url, "bad/app", "x", noConfig),
          400,
          "MANIFEST_BLOB_UNKNOWN",
        );
        const index = {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI, digest: sha256("nothing"), size: 3 }],
        };
        await assertError(
          await putManifest(reg.url, "bad/app", "x", index, OCI_INDEX),
          400,
          "MANIFEST_UNKNOWN",
        );
      },
    );
    await t.step("a blob of another repository does not count", async () => {
      await assertError(
        await putManifest(reg.url, "bad/other", "x", image.manifest),
        400,
        "MANIFEST_BLOB_UNKNOWN",
      );
    });
    await t.step("too large is 413; at the limit is fine", async () => {
      const pad = (n: number) => ({ ...image.manifest, annotations: { pad: "x".repeat(n) } });
      const base = JSON.stringify(pad(0)).length;
      const fits = await putManifest(reg.url, "bad/app", "fits", pad(64 * 1024 - base));
      assert.equal(fits.status, 201, await fits.text());
      await assertError(
        await putManifest(reg.url, "bad/app", "big", pad(64 * 1024 - base + 1)),
        413,
        "MANIFEST_INVALID",
      );
    });
    await t.step("bad names, tags and references", async () => {
      await assertError(
        await putManifest(reg.url, "Bad/App", "x", image.manifest),
        400,
        "NAME_INVALID",
      );
      await assertError(
        await putManifest(reg.url, "bad/app", "-x", image.manifest),
        400,
        "TAG_INVALID",
      );
      await assertError(
        await putManifest(reg.url, "bad/app", "x".repeat(129), image.manifest),
        400,
        "TAG_INVALID",
      );
      await assertError(await get(reg, "bad/app", "nope"), 404, "MANIFEST_UNKNOWN");
      await assertError(await get(reg, "bad/app", sha256("nope")), 404, "MANIFEST_UNKNOWN");
      await assertError(await get(reg, "bad/app", "sha256:short"), 400, "TAG_INVALID");
      await assertError(await get(reg, "nothing/here", "latest"), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("an Accept header without the stored type is MANIFEST_UNKNOWN", async () => {
      const put = await putManifest(reg.url, "bad/app", "acc", image.manifest);
      assert.equal(put.status, 201);
      await assertError(
        await get(reg, "bad/app", "acc", { headers: { Accept: DOCKER } }),
        404,
        "MANIFEST_UNKNOWN",
      );
      for (const accept of ["*/*", `${DOCKER}, ${OCI}`, "application/json"]) {
        const res = await get(reg, "bad/app", "acc", { headers: { Accept: accept } });
        assert.equal(res.status, 200, accept);
        await res.body?.cancel();
      }
    });
  } finally {
    await reg.close();
  }
});

Deno.test("tags: multi-tag PUT, retag, delete by tag and by digest", async (t) => {
  const reg = await startRegistry();
  try {
    const a = await pushImage(reg.url, "t/app", 1);
    const b = await pushImage(reg.url, "t/app", 1);
    await t.step("?tag= sets several tags with OCI-Tag headers", async () => {
      const res = await fetch(`${reg.url}/v2/t/app/manifests/${a.digest}?tag=one&tag=two`, {
        method: "PUT",
        body: a.text,
        headers: { "Content-Type": OCI },
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("oci-tag"), "one, two");
      for (const tag of ["one", "two"]) {
        assert.equal(
          (await get(reg, "t/app", tag, { method: "HEAD" })).headers.get("docker-content-digest"),
          a.digest,
        );
      }
    });
    await t.step("pushing another manifest under a tag moves it", async () => {
      assert.equal((await putManifest(reg.url, "t/app", "two", b.text)).status, 201);
      assert.equal(
        (await get(reg, "t/app", "two", { method: "HEAD" })).headers.get("docker-content-digest"),
        b.digest,
      );
    });
    await t.step("DELETE by tag removes only the tag", async () => {
      const res = await get(reg, "t/app", "one", { method: "DELETE" });
      assert.equal(res.status, 202);
      await assertError(await get(reg, "t/app", "one"), 404, "MANIFEST_UNKNOWN");
      assert.equal((await get(reg, "t/app", a.digest, { method: "HEAD" })).status, 200);
    });
    await t.step("DELETE by digest removes the manifest and its tags", async () => {
      assert.equal((await putManifest(reg.url, "t/app", "three", b.text)).status, 201);
      const res = await get(reg, "t/app", b.digest, { method: "DELETE" });
      assert.equal(res.status, 202);
      await assertError(await get(reg, "t/app", b.digest), 404, "MANIFEST_UNKNOWN");
      await assertError(await get(reg, "t/app", "two"), 404, "MANIFEST_UNKNOWN");
      const tags = await (await fetch(`${reg.url}/v2/t/app/tags/list`)).json();
      assert.deepEqual(tags.tags, []);
      await assertError(
        await get(reg, "t/app", b.digest, { method: "DELETE" }),
        404,
        "MANIFEST_UNKNOWN",
      );
    });
    await t.step("concurrent pushes to one tag end consistent", async () => {
      const images = await Promise.all(
        Array.from({ length: 8 }, () => pushImage(reg.url, "t/race", 1)),
      );
      const results = await Promise.all(
        images.map((img) => putManifest(reg.url, "t/race", "latest", img.text)),
      );
      for (const r of results) assert.equal(r.status, 201, await r.text());
      const head = await get(reg, "t/race", "latest", { method: "HEAD" });
      const winner = head.headers.get("docker-content-digest");
      assert.ok(images.some((img) => img.digest === winner));
      const tags = await (await fetch(`${reg.url}/v2/t/race/tags/list`)).json();
      assert.deepEqual(tags.tags, ["latest"]);
      // The reverse index agrees: deleting the winner takes the tag with it.
      assert.equal((await get(reg, "t/race", winner!, { method: "DELETE" })).status, 202);
      await assertError(await get(reg, "t/race", "latest"), 404, "MANIFEST_UNKNOWN");
      for (const img of images.filter((i) => i.digest !== winner)) {
        assert.equal((await get(reg, "t/race", img.digest, { method: "HEAD" })).status, 200);
      }
    });
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: deletion switched off is UNSUPPORTED", async () => {
  const reg = await startRegistry({ doc: { storage: { delete: { enabled: false } } } });
  try {
    const image = await pushImage(reg.url, "nd/app", 1);
    assert.equal((await putManifest(reg.url, "nd/app", "v1", image.text)).status, 201);
    await assertError(await get(reg, "nd/app", "v1", { method: "DELETE" }), 405, "UNSUPPORTED");
    await assertError(
      await get(reg, "nd/app", image.digest, { method: "DELETE" }),
      405,
      "UNSUPPORTED",
    );
    assert.equal((await get(reg, "nd/app", "v1", { method: "HEAD" })).status, 200);
  } finally {
    await reg.close();
  }
});
