import assert from "node:assert/strict";
import { RegistryError } from "../../src/errors.ts";
import { acceptsManifest, parseManifest } from "../../src/oci/manifests/mod.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../../src/oci/media_types.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const d = (c: string) => "sha256:" + c.repeat(64);
const desc = (c: string, mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", size = 10) => ({
  mediaType,
  digest: d(c),
  size,
});

function invalid(fn: () => unknown, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RegistryError);
    assert.equal(e.code, "MANIFEST_INVALID");
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("manifest parsing", async (t) => {
  const image = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: desc("c", "application/vnd.oci.image.config.v1+json"),
    layers: [desc("1"), desc("2")],
    annotations: { "org.example": "x" },
  };
  await t.step("an OCI image lists config and layers as blobs", () => {
    const p = parseManifest(enc(image), OCI_MANIFEST);
    assert.equal(p.mediaType, OCI_MANIFEST);
    assert.deepEqual(p.blobs.map((b) => b.digest), [d("c"), d("1"), d("2")]);
    assert.equal(p.artifactType, "application/vnd.oci.image.config.v1+json");
    assert.deepEqual(p.annotations, { "org.example": "x" });
  });
  await t.step("artifactType and subject are read", () => {
    const p = parseManifest(
      enc({ ...image, artifactType: "application/x-sig", subject: desc("9", OCI_MANIFEST) }),
      OCI_MANIFEST,
    );
    assert.equal(p.artifactType, "application/x-sig");
    assert.equal(p.subject?.digest, d("9"));
  });
  await t.step("media type comes from the body when Content-Type is absent or generic", () => {
    assert.equal(parseManifest(enc(image), null).mediaType, OCI_MANIFEST);
    assert.equal(parseManifest(enc(image), "application/json").mediaType, OCI_MANIFEST);
    const { mediaType: _, ...bare } = image;
    assert.equal(parseManifest(enc(bare), null).mediaType, OCI_MANIFEST);
    assert.equal(
      parseManifest(enc({ schemaVersion: 2, manifests: [] }), null).mediaType,
      OCI_INDEX,
    );
  });
  await t.step("Docker schema 2 and manifest lists", () => {
    const docker = { ...image, mediaType: DOCKER_MANIFEST };
    assert.equal(parseManifest(enc(docker), DOCKER_MANIFEST).blobs.length, 3);
    const list = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{
        ...desc("a", DOCKER_MANIFEST),
        platform: { os: "linux", architecture: "amd64" },
      }],
    };
    const p = parseManifest(enc(list), DOCKER_MANIFEST_LIST);
    assert.deepEqual(p.manifests.map((m) => m.digest), [d("a")]);
    assert.deepEqual(p.blobs, []);
  });
  await t.step("foreign layers with urls need not be in the registry", () => {
    const foreign = {
      ...desc("f", "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
      urls: ["https://example.com/layer"],
    };
    const p = parseManifest(
      enc({ ...image, mediaType: DOCKER_MANIFEST, layers: [foreign] }),
      DOCKER_MANIFEST,
    );
    assert.deepEqual(p.blobs.map((b) => b.digest), [d("c")]);
  });
  await t.step("malformed manifests are MANIFEST_INVALID", () => {
    invalid(() => parseManifest(enc("{"), OCI_MANIFEST), /not valid JSON/);
    invalid(() => parseManifest(new Uint8Array([0xff, 0xfe]), OCI_MANIFEST), /not valid JSON/);
    invalid(() => parseManifest(enc([1]), OCI_MANIFEST), /JSON object/);
    invalid(
      () => parseManifest(enc({ ...image, schemaVersion: 1 }), OCI_MANIFEST),
      /schemaVersion/,
    );
    invalid(() => parseManifest(enc(image), OCI_INDEX), /does not match/);
    invalid(() => parseManifest(enc({ ...image, mediaType: "text/plain" }), null), /not supported/);
    invalid(
      () =>
        parseManifest(
          enc({ ...image, mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws" }),
          null,
        ),
      /schema 1/,
    );
    invalid(
      () => parseManifest(enc({ ...image, config: { ...image.config, digest: "x" } }), null),
      /config.digest/,
    );
    invalid(
      () => parseManifest(enc({ ...image, layers: [{ ...desc("1"), size: -1 }] }), null),
      /layers\[0\].size/,
    );
    invalid(() => parseManifest(enc({ ...image, layers: "x" }), null), /layers must be a list/);
    invalid(() => parseManifest(enc({ ...image, annotations: { a: 1 } }), null), /annotations/);
    invalid(
      () => parseManifest(enc({ ...image, subject: { digest: d("1") } }), null),
      /subject.mediaType/,
    );
    invalid(
      () => parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX }), null),
      /manifests must be a list/,
    );
    invalid(() => parseManifest(enc({ schemaVersion: 2 }), null), /no media type/);
  });
});

Deno.test("Accept negotiation for manifests", () => {
  assert.ok(acceptsManifest(null, OCI_MANIFEST));
  assert.ok(acceptsManifest("*/*", OCI_MANIFEST));
  assert.ok(acceptsManifest("application/json", OCI_MANIFEST));
  assert.ok(acceptsManifest(`${DOCKER_MANIFEST}, ${OCI_MANIFEST};q=0.5`, OCI_MANIFEST));
  assert.ok(!acceptsManifest(DOCKER_MANIFEST, OCI_MANIFEST));
  assert.ok(!acceptsManifest(`${OCI_MANIFEST}, ${DOCKER_MANIFEST}`, OCI_INDEX));
});
