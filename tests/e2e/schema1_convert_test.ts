/**
 * @module
 * `compatibility.schema1.convert` over real HTTP: a schema 2 or OCI image fetched by tag
 * with only schema 1 in `Accept` is served as a schema 1 manifest whose signature
 * verifies and whose `fsLayers` are the image's layers; by digest, or to clients taking
 * schema 2 or OCI, the stored manifest is served; the signing key comes from
 * `signingkeyfile` or is generated once and shared through the metadata store.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { ConfigError } from "../../src/config/mod.ts";
import { libtrustKeyId } from "../../src/oci/manifests/jws.ts";
import { EMPTY_LAYER, EMPTY_LAYER_DIGEST } from "../../src/schema1/build.ts";
import { assertError, pushBlob, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { payloadDoc, SIGNED, signedManifest, UNSIGNED, verifyServed } from "../helpers/schema1.ts";

const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";
const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const CONVERT = { compatibility: { schema1: { convert: true } } };
const created = "2024-01-01T00:00:00Z";

/** Pushes an image of `format` with two layers and an empty-layer history entry. */
async function pushImage(reg: TestRegistry, repo: string, tag: string, format = DOCKER) {
  const docker = format === DOCKER;
  const layers = [];
  for (const size of [700, 900]) {
    const layer = await pushBlob(reg.url, repo, randomBytes(size));
    const mediaType = docker
      ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
      : "application/vnd.oci.image.layer.v1.tar+gzip";
    layers.push({ mediaType, ...layer });
  }
  const config = await pushBlob(
    reg.url,
    repo,
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/app"] },
      rootfs: { type: "layers", diff_ids: [sha256("a"), sha256("b")] },
      history: [
        { created, created_by: "ADD base" },
        { created, created_by: "ENV A=1", empty_layer: true },
        { created, created_by: "ADD app" },
      ],
    }),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: format,
    config: {
      mediaType: docker
        ? "application/vnd.docker.container.image.v1+json"
        : "application/vnd.oci.image.config.v1+json",
      ...config,
    },
    layers,
  };
  const text = JSON.stringify(manifest);
  assert.equal((await putManifest(reg.url, repo, tag, text, format)).status, 201);
  return { text, digest: sha256(text), layers: layers.map((l) => l.digest) };
}

function get(reg: TestRegistry, repo: string, ref: string, accept?: string, method = "GET") {
  return fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
    method,
    headers: accept ? { Accept: accept } : {},
  });
}

/** GETs `ref` as an old client; checks HEAD agrees; returns the body and its digest header. */
async function fetchConverted(reg: TestRegistry, repo: string, ref: string, accept = SIGNED) {
  const res = await get(reg, repo, ref, accept);
  const bytes = await res.bytes();
  assert.equal(res.status, 200, new TextDecoder().decode(bytes));
  assert.equal(res.headers.get("content-type"), accept === SIGNED ? SIGNED : UNSIGNED);
  assert.equal(res.headers.get("content-length"), String(bytes.byteLength));
  const head = await get(reg, repo, ref, accept, "HEAD");
  await head.body?.cancel();
  assert.equal(head.headers.get("content-length"), String(bytes.byteLength));
  assert.equal(head.headers.get("docker-content-digest"), res.headers.get("docker-content-digest"));
  return {
    bytes,
    digest: res.headers.get("docker-content-digest")!,
    doc: JSON.parse(new TextDecoder().decode(bytes)),
  };
}

Deno.test("schema 1 conversion: old clients get a signed schema 1 of the image, others the stored manifest", async (t) => {
  const reg = await startRegistry({ doc: CONVERT });
  const repo = "conv/app";
  try {
    const image = await pushImage(reg, repo, "v1");
    let signedDigest = "";
    await t.step("by tag with only schema 1 accepted: converted, signed, verifying", async () => {
      const { bytes, digest, doc } = await fetchConverted(reg, repo, "v1");
      const verified = await verifyServed(bytes);
      assert.equal(verified.digest, digest, "the digest is the payload's");
      assert.equal(verified.kids.length, 1);
      assert.equal(doc.name, repo);
      assert.equal(doc.tag, "v1");
      assert.deepEqual(
        doc.fsLayers.map((l: { blobSum: string }) => l.blobSum),
        [image.layers[1], EMPTY_LAYER_DIGEST, image.layers[0]],
      );
      assert.equal(doc.history.length, 3);
      // The empty layer the history points at is in the repository.
      const empty = await fetch(`${reg.url}/v2/${repo}/blobs/${EMPTY_LAYER_DIGEST}`);
      assert.deepEqual(await empty.bytes(), EMPTY_LAYER);
      signedDigest = digest;
      // The same image serves the same digest again.
      assert.equal((await fetchConverted(reg, repo, "v1")).digest, digest);
    });
    await t.step("only v1+json accepted: the unsigned payload, same digest", async () => {
      const { bytes, digest } = await fetchConverted(reg, repo, "v1", UNSIGNED);
      assert.equal(digest, signedDigest);
      assert.equal(sha256(bytes), digest);
      assert.equal(JSON.parse(new TextDecoder().decode(bytes)).signatures, undefined);
    });
    await t.step("by digest, or taking schema 2: the stored manifest", async () => {
      for (
        const [ref, accept] of [[image.digest, SIGNED], ["v1", `${SIGNED}, ${DOCKER}`], [
          "v1",
          undefined,
        ], ["v1", "*/*"]]
      ) {
        const res = await get(reg, repo, ref!, accept);
        assert.equal(await res.text(), image.text, `${ref} ${accept}`);
        assert.equal(res.headers.get("content-type"), DOCKER);
        assert.equal(res.headers.get("docker-content-digest"), image.digest);
      }
    });
    await t.step("OCI images and an index's linux/amd64 image are converted too", async () => {
      const oci = await pushImage(reg, repo, "oci", OCI);
      const converted = await fetchConverted(reg, repo, "oci");
      await verifyServed(converted.bytes);
      assert.equal(converted.doc.fsLayers[0].blobSum, oci.layers[1]);
      const child = (digest: string, architecture: string) => ({
        mediaType: OCI,
        digest,
        size: new TextEncoder().encode(oci.text).byteLength,
        platform: { os: "linux", architecture },
      });
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [child(oci.digest, "amd64")],
      });
      assert.equal((await putManifest(reg.url, repo, "multi", index, OCI_INDEX)).status, 201);
      const fromIndex = await fetchConverted(reg, repo, "multi");
      assert.equal(fromIndex.doc.tag, "multi");
      assert.deepEqual(fromIndex.doc.fsLayers, converted.doc.fsLayers);
      const armOnly = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [child(oci.digest, "arm64")],
      });
      assert.equal((await putManifest(reg.url, repo, "arm", armOnly, OCI_INDEX)).status, 201);
      await assertError(await get(reg, repo, "arm", SIGNED), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("artifacts have no schema 1 form", async () => {
      const config = await pushBlob(reg.url, repo, '{"tool":"x"}');
      const artifact = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: "application/vnd.example",
        config: { mediaType: "application/vnd.example+json", ...config },
        layers: [],
      });
      assert.equal((await putManifest(reg.url, repo, "sbom", artifact, OCI)).status, 201);
      await assertError(await get(reg, repo, "sbom", SIGNED), 404, "MANIFEST_UNKNOWN");
      await assertError(await get(reg, repo, "nope", SIGNED), 404, "MANIFEST_UNKNOWN");
    });
  } finally {
    await reg.close();
  }
});

Deno.test("schema 1 conversion: off unless compatibility.schema1.convert", async () => {
  const reg = await startRegistry({ doc: { compatibility: { schema1: { enabled: true } } } });
  try {
    await pushImage(reg, "noconv/app", "v1");
    await assertError(await get(reg, "noconv/app", "v1", SIGNED), 404, "MANIFEST_UNKNOWN");
  } finally {
    await reg.close();
  }
});

Deno.test("schema 1 conversion: the generated key is kept in the metadata store and shared", async () => {
  const first = await startRegistry({ doc: CONVERT });
  const { blobs, metadata } = first.runtime.drivers;
  const second = await startRegistry({ doc: CONVERT, driver: blobs, store: metadata });
  try {
    await pushImage(first, "fleet/app", "v1");
    const a = await verifyServed((await fetchConverted(first, "fleet/app", "v1")).bytes);
    const b = await verifyServed((await fetchConverted(second, "fleet/app", "v1")).bytes);
    assert.deepEqual(a.kids, b.kids);
    assert.equal(a.digest, b.digest);
    assert.ok(await metadata.get(["config", "schema1-signing-key"]));
  } finally {
    await second.close();
    await first.close();
  }
});

Deno.test("schema 1 conversion: signingkeyfile takes PEM (libtrust's too) and JWK keys", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-s1key-" });
  try {
    const { exportJWK, generateKeyPair } = await import("jose");
    const pair = await generateKeyPair("ES384", { extractable: true });
    const jwk = await exportJWK(pair.privateKey) as Record<string, unknown>;
    const kid = libtrustKeyId(jwk);
    const pem = createPrivateKey({ key: jwk as never, format: "jwk" });
    const files: Record<string, string> = {
      "key.json": JSON.stringify({ ...jwk, kid }),
      "pkcs8.pem": pem.export({ type: "pkcs8", format: "pem" }) as string,
      "sec1.pem": pem.export({ type: "sec1", format: "pem" }) as string,
      // libtrust writes a header line inside the block.
      "libtrust.pem": (pem.export({ type: "sec1", format: "pem" }) as string)
        .replace("-----\n", `-----\nkeyID: ${kid}\n\n`),
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      const reg = await startRegistry({
        doc: { compatibility: { schema1: { convert: true, signingkeyfile: `${dir}/${name}` } } },
      });
      try {
        await pushImage(reg, "file/app", "v1");
        const { kids } = await verifyServed((await fetchConverted(reg, "file/app", "v1")).bytes);
        assert.deepEqual(kids, [kid], name);
      } finally {
        await reg.close();
      }
    }
    await Deno.writeTextFile(`${dir}/bad.pem`, "not a key");
    for (const path of [`${dir}/bad.pem`, `${dir}/missing.pem`]) {
      await assert.rejects(
        startRegistry({
          doc: { compatibility: { schema1: { convert: true, signingkeyfile: path } } },
        }),
        (e: unknown) =>
          e instanceof ConfigError && e.setting === "compatibility.schema1.signingkeyfile",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("schema 1 conversion: stored schema 1 manifests are served as they are", async () => {
  const reg = await startRegistry({
    doc: { compatibility: { schema1: { enabled: true, convert: true } } },
  });
  const repo = "stored/app";
  try {
    const layer = await pushBlob(reg.url, repo, randomBytes(300));
    const signed = await signedManifest(payloadDoc(repo, "v1", [layer.digest]));
    assert.equal((await putManifest(reg.url, repo, "v1", signed.text, SIGNED)).status, 201);
    const { bytes, digest } = await fetchConverted(reg, repo, "v1");
    assert.deepEqual(bytes, signed.bytes);
    assert.equal(digest, signed.digest);
  } finally {
    await reg.close();
  }
});
