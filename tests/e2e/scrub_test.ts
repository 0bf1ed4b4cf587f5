/**
 * @module
 * Scrubbing on a filesystem registry: a flipped byte, a truncated file and a damaged
 * manifest are found; their records and links go (HEAD says 404); pushing them again
 * repairs them; the dry run only reports.
 */
import assert from "node:assert/strict";
import { parseDigest } from "../../src/oci/digest.ts";
import { scrub } from "../../src/gc/scrub.ts";
import { blobKey } from "../../src/registry/keys.ts";
import { getManifest, headBlob, integrityProblems, layers, pushImage } from "../helpers/gc.ts";
import { pushBlob, putManifest, sha256 } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";

Deno.test("scrub finds a flipped byte, a truncated file and a damaged manifest; a re-push repairs them", async () => {
  const reg = await startRegistry({ storage: "disk" });
  const { blobs: driver, metadata: store } = reg.runtime.drivers;
  const file = (digest: string) => `${reg.dir}/blobs/${blobKey(parseDigest(digest))}`;
  try {
    const content = layers(3);
    const image = await pushImage(reg.url, "scrub/app", "v1", content);
    const other = await pushImage(reg.url, "scrub/other", "v1", layers(1));
    const manifestText = await (await fetch(`${reg.url}/v2/scrub/other/manifests/v1`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    })).text();
    const [flipped, truncated] = [image.refs[1], image.refs[2]];
    const bytes = await Deno.readFile(file(flipped));
    bytes[100] ^= 0xff;
    await Deno.writeFile(file(flipped), bytes);
    await Deno.truncate(file(truncated), 10);
    const damaged = await Deno.readFile(file(other.digest));
    damaged[5] ^= 0x01; // one changed byte: another digest
    await Deno.writeFile(file(other.digest), damaged);
    assert.equal(await headBlob(reg.url, "scrub/app", flipped), 200, "the flip shows already");

    const dry = await scrub(driver, store, { dryRun: true });
    const bad = (r: typeof dry) => r.bad.map((b) => b.digest).sort();
    assert.deepEqual(bad(dry), [flipped, truncated, other.digest].sort());
    assert.equal(await headBlob(reg.url, "scrub/app", flipped), 200, "the dry run removed it");

    const report = await scrub(driver, store);
    assert.deepEqual(bad(report), bad(dry));
    assert.equal(report.checked, dry.checked);
    assert.match(report.bad.find((b) => b.digest === truncated)!.why, /missing or not/);
    assert.match(report.bad.find((b) => b.digest === flipped)!.why, /do not hash/);
    for (const d of [flipped, truncated]) {
      assert.equal(await headBlob(reg.url, "scrub/app", d), 404);
      assert.equal(await store.get(["blob", d]), null);
    }
    assert.equal(await getManifest(reg.url, "scrub/other", "v1"), 404, "the damaged tag stays");
    for (const d of [image.refs[0], image.refs[3]]) {
      assert.equal(await headBlob(reg.url, "scrub/app", d), 200);
    }
    assert.equal(await getManifest(reg.url, "scrub/app", "v1"), 200);
    assert.deepEqual((await scrub(driver, store)).bad, [], "a second scrub still finds something");

    // The clients push again what HEAD says is missing: the repair.
    await pushBlob(reg.url, "scrub/app", content[0]);
    await pushBlob(reg.url, "scrub/app", content[1]);
    for (const d of [flipped, truncated]) {
      const res = await fetch(`${reg.url}/v2/scrub/app/blobs/${d}`);
      assert.equal(sha256(await res.bytes()), d);
    }
    assert.equal((await putManifest(reg.url, "scrub/other", "v1", manifestText)).status, 201);
    assert.equal(await getManifest(reg.url, "scrub/other", "v1"), 200);
    assert.deepEqual(await integrityProblems(driver, store), []);
    assert.deepEqual((await scrub(driver, store)).bad, []);
  } finally {
    await reg.close();
  }
});
