import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { RegistryError } from "../../src/errors.ts";
import { SCHEMA1_FORMATS } from "../../src/oci/manifests/mod.ts";
import { schema1Only } from "../../src/schema1/convert.ts";
import { buildSchema1, EMPTY_LAYER, EMPTY_LAYER_DIGEST } from "../../src/schema1/build.ts";
import { SIGNED, UNSIGNED } from "../helpers/schema1.ts";

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const layer = (c: string) => `sha256:${c.repeat(64)}`;
const hex = (text: string) => createHash("sha256").update(text).digest("hex");
const created = "2024-01-01T00:00:00Z";

function config(history: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return enc({
    architecture: "arm64",
    os: "linux",
    config: { Cmd: ["/bin/sh", "-c", "a && b"] },
    rootfs: { type: "layers", diff_ids: [] },
    history,
    ...extra,
  });
}

Deno.test("schema 1 build: history becomes fsLayers and v1 ids, newest first", () => {
  const cfg = config([
    { created, created_by: "ADD base" },
    { created, created_by: "ENV x=1", empty_layer: true },
    { created, created_by: "ADD app", author: "me", comment: "c" },
  ]);
  const built = buildSchema1({
    name: "a/b",
    tag: "t",
    config: cfg,
    layers: [layer("1"), layer("2")],
  });
  assert.equal(built.usesEmptyLayer, true);
  // A valid unsigned schema 1 manifest, indented as distribution writes it.
  const text = new TextDecoder().decode(built.payload);
  assert.ok(text.startsWith('{\n   "schemaVersion": 1,\n   "name": "a/b",\n   "tag": "t",'), text);
  const parsed = SCHEMA1_FORMATS.parse(built.payload, UNSIGNED);
  assert.deepEqual(parsed.target, { name: "a/b", tag: "t" });
  const doc = JSON.parse(text);
  assert.equal(doc.architecture, "arm64");
  assert.deepEqual(
    doc.fsLayers.map((l: { blobSum: string }) => l.blobSum),
    [layer("2"), EMPTY_LAYER_DIGEST, layer("1")],
  );
  const v1 = doc.history.map((h: { v1Compatibility: string }) => JSON.parse(h.v1Compatibility));
  const base = hex(`${"1".repeat(64)} `);
  const env = hex(`${EMPTY_LAYER_DIGEST.slice(7)} ${base}`);
  const top = createHash("sha256").update(`${"2".repeat(64)} ${env} `).update(cfg).digest("hex");
  assert.deepEqual(v1[2], {
    id: base,
    created,
    container_config: { Cmd: ["ADD base"] },
  });
  assert.deepEqual(v1[1], {
    id: env,
    parent: base,
    created,
    container_config: { Cmd: ["ENV x=1"] },
    throwaway: true,
  });
  // The newest is the configuration without rootfs and history, keys sorted.
  assert.deepEqual(Object.keys(v1[0]), ["architecture", "config", "id", "os", "parent"]);
  assert.equal(v1[0].id, top);
  assert.equal(v1[0].parent, env);
  // Go's escaping of & < > is kept, at both levels.
  assert.ok(doc.history[0].v1Compatibility.includes("a \\u0026\\u0026 b"));
  assert.ok(text.includes("a \\\\u0026\\\\u0026 b"));
  // The same image always builds the same payload.
  const again = buildSchema1({
    name: "a/b",
    tag: "t",
    config: cfg,
    layers: [layer("1"), layer("2")],
  });
  assert.deepEqual(again.payload, built.payload);
});

Deno.test("schema 1 build: images without history get one entry per layer", () => {
  const cfg = enc({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const built = buildSchema1({
    name: "a/b",
    tag: "t",
    config: cfg,
    layers: [layer("1"), layer("2")],
  });
  const doc = JSON.parse(new TextDecoder().decode(built.payload));
  assert.equal(doc.fsLayers.length, 2);
  assert.equal(built.usesEmptyLayer, false);
});

Deno.test("schema 1 build: images that do not fit are MANIFEST_UNKNOWN, saying why", () => {
  const cases: [Uint8Array, string[], RegExp][] = [
    [config([{ created }]), [layer("1"), layer("2")], /history names 1 layers, its manifest 2/],
    [enc([1]), [layer("1")], /not a JSON object/],
    [new TextEncoder().encode("{"), [layer("1")], /not JSON/],
    [enc({}), [], /neither layers nor history/],
  ];
  for (const [cfg, layers, message] of cases) {
    assert.throws(() => buildSchema1({ name: "a/b", tag: "t", config: cfg, layers }), (e) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, "MANIFEST_UNKNOWN");
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("schema 1 build: the empty layer is the gzipped empty tar", async () => {
  assert.equal(
    `sha256:${createHash("sha256").update(EMPTY_LAYER).digest("hex")}`,
    EMPTY_LAYER_DIGEST,
  );
  const tar = await new Response(
    new Blob([EMPTY_LAYER]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).bytes();
  assert.equal(tar.byteLength, 1024);
  assert.ok(tar.every((b) => b === 0));
});

Deno.test("schema 1 conversion: only clients that take nothing but schema 1 are converted", () => {
  assert.equal(schema1Only(SIGNED), SIGNED);
  assert.equal(schema1Only(`${UNSIGNED}, ${SIGNED};q=0.5, application/json`), SIGNED);
  assert.equal(schema1Only(UNSIGNED), UNSIGNED);
  for (
    const accept of [
      null,
      "",
      "*/*",
      "application/json",
      `${SIGNED}, application/vnd.docker.distribution.manifest.v2+json`,
      `${SIGNED}, application/vnd.oci.image.manifest.v1+json`,
      `${SIGNED}, application/vnd.oci.image.index.v1+json`,
      `${SIGNED}, */*`,
    ]
  ) {
    assert.equal(schema1Only(accept), null, String(accept));
  }
});
