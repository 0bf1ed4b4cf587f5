/**
 * @module
 * Records know their time and their references: blob records and links say when they
 * were made, tags when they last moved, and a manifest link what the manifest references
 * (in the record, or in numbered parts when there are many), so garbage collection can
 * mark from metadata alone.
 */
import assert from "node:assert/strict";
import { manifestRefs } from "../../src/registry/manifests.ts";
import type { BlobRecord, ManifestRecord, TagRecord } from "../../src/registry/records.ts";
import { startRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest, randomBytes } from "../helpers/oci.ts";

const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

Deno.test("records carry their times and a manifest link its references", async (t) => {
  const reg = await startRegistry();
  const store = reg.runtime.drivers.metadata;
  const value = async <T>(key: string[]) => (await store.get<T>(key))?.value;
  try {
    await t.step("blob, link, manifest and tag records", async () => {
      const before = Date.now();
      const image = await pushImage(reg.url, "rec/app", 2);
      assert.equal((await putManifest(reg.url, "rec/app", "v1", image.text)).status, 201);
      const layer = image.manifest.layers[0].digest;
      const blob = await value<BlobRecord>(["blob", layer]);
      const link = await value<BlobRecord>(["layer", "rec/app", layer]);
      assert.ok(blob?.created && blob.created >= before, "the blob record has no time");
      assert.ok(link?.created && link.created >= before, "the link has no time");
      const manifest = await value<ManifestRecord>(["manifest", "rec/app", image.digest]);
      assert.ok(manifest?.created && manifest.created >= before);
      assert.deepEqual(manifest.refs, {
        blobs: [image.manifest.config.digest, ...image.manifest.layers.map((l) => l.digest)],
        manifests: [],
      });
      const tag = await value<TagRecord>(["tag", "rec/app", "v1"]);
      assert.equal(tag?.digest, image.digest);
      assert.ok(tag.updated && tag.updated >= before);
      // An index records its children.
      const index = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: image.digest,
          size: image.size,
        }],
      };
      const res = await putManifest(
        reg.url,
        "rec/app",
        "multi",
        index,
        "application/vnd.oci.image.index.v1+json",
      );
      assert.equal(res.status, 201);
      const indexRecord = await value<ManifestRecord>(
        ["manifest", "rec/app", res.headers.get("docker-content-digest")!],
      );
      assert.deepEqual(indexRecord?.refs, { blobs: [], manifests: [image.digest] });
      // Moving the tag updates its time.
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(
        (await putManifest(reg.url, "rec/app", "v1", index, index.mediaType)).status,
        201,
      );
      const moved = await value<TagRecord>(["tag", "rec/app", "v1"]);
      assert.ok(moved!.updated! > tag.updated!, "the tag's time did not move");
    });

    await t.step("many references go into numbered parts, and go with the manifest", async () => {
      const config = await pushBlob(reg.url, "rec/big", "{}");
      const layers = [];
      for (let i = 0; i < 1100; i++) {
        layers.push({ mediaType: LAYER, ...await pushBlob(reg.url, "rec/big", randomBytes(8)) });
      }
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers,
      };
      const res = await putManifest(reg.url, "rec/big", "v1", manifest);
      assert.equal(res.status, 201, await res.text());
      const digest = res.headers.get("docker-content-digest")!;
      const record = (await value<ManifestRecord>(["manifest", "rec/big", digest]))!;
      assert.equal(record.refs, undefined, "1101 references do not fit in one record");
      assert.ok(record.refParts && record.refParts > 1, `${record.refParts} parts`);
      const refs = await manifestRefs(store, "rec/big", digest, record);
      assert.deepEqual(refs?.blobs, [config.digest, ...layers.map((l) => l.digest)]);
      const del = await fetch(`${reg.url}/v2/rec/big/manifests/${digest}`, { method: "DELETE" });
      assert.equal(del.status, 202);
      const left = await Array.fromAsync(store.list(["manifest-refs", "rec/big", digest]));
      assert.equal(left.length, 0, "reference parts outlived their manifest");
    });

    await t.step("a manifest with more references than a commit can carry is refused", async () => {
      const digest = (i: number) => "sha256:" + i.toString(16).padStart(64, "0");
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: digest(0),
          size: 2,
        },
        layers: Array.from(
          { length: 5001 },
          (_, i) => ({ mediaType: LAYER, digest: digest(i + 1), size: 8 }),
        ),
      };
      await assertError(
        await putManifest(reg.url, "rec/huge", "v1", manifest),
        400,
        "MANIFEST_INVALID",
      );
    });
  } finally {
    await reg.close();
  }
});
