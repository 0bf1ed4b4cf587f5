/**
 * @module
 * Garbage collection keeps the records other capabilities hang on manifests and tags in
 * step: a tag removed by retention leaves the newest-first tag index (the web UI's tag
 * pages), and a schema 1 manifest collected as untagged takes its signatures with it.
 */
import assert from "node:assert/strict";
import { systemContext } from "../../src/registry/events.ts";
import { layers, pushImage } from "../helpers/gc.ts";
import { pushBlob, putManifest } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";
import { payloadDoc, SIGNED, signedManifest } from "../helpers/schema1.ts";

Deno.test("retention's removed tags leave the newest-first tag index", async () => {
  const reg = await startRegistry({
    doc: {
      berth: {
        gc: { interval: "24h", grace: "0s" },
        retention: { policies: [{ repositories: ["ret/*"], keeptags: [{ patterns: ["v.*"] }] }] },
      },
    },
  });
  try {
    await pushImage(reg.url, "ret/app", "v1", layers(1));
    await pushImage(reg.url, "ret/app", "dev", layers(1));
    const repo = () => reg.runtime.deps.registry.repository("ret/app", systemContext());
    const before = (await repo().tags.recent(50, null)).items.map((t) => t.name).sort();
    assert.deepEqual(before, ["dev", "v1"]);
    assert.ok(await reg.runtime.scheduler.runNow("gc"), "the collector did not run");
    const after = (await repo().tags.recent(50, null)).items.map((t) => t.name);
    assert.deepEqual(after, ["v1"], "the removed tag is still listed newest first");
    const left = await Array.fromAsync(
      reg.runtime.drivers.metadata.list(["tag-time", "ret/app"]),
    );
    assert.equal(left.length, 1, "an index entry of the removed tag was left behind");
  } finally {
    await reg.close();
  }
});

Deno.test("a collected schema 1 manifest takes its signatures with it", async () => {
  const reg = await startRegistry({
    doc: {
      compatibility: { schema1: { enabled: true } },
      berth: { gc: { interval: "24h", grace: "0s", deleteuntagged: true } },
    },
  });
  const store = reg.runtime.drivers.metadata;
  try {
    const repo = "old/app";
    const blob = await pushBlob(reg.url, repo, "a layer");
    const m = await signedManifest(payloadDoc(repo, "v1", [blob.digest]));
    const put = await putManifest(reg.url, repo, "v1", m.text, SIGNED);
    assert.equal(put.status, 201, await put.text());
    const signatures = () => Array.fromAsync(store.list(["manifest-signature", repo, m.digest]));
    assert.equal((await signatures()).length, 1, "the signature was not kept apart");
    const untag = await fetch(`${reg.url}/v2/${repo}/manifests/v1`, { method: "DELETE" });
    assert.equal(untag.status, 202);
    assert.ok(await reg.runtime.scheduler.runNow("gc"), "the collector did not run");
    const gone = await fetch(`${reg.url}/v2/${repo}/manifests/${m.digest}`);
    await gone.body?.cancel();
    assert.equal(gone.status, 404, "the untagged manifest was not collected");
    assert.deepEqual(await signatures(), [], "its signatures outlived it");
  } finally {
    await reg.close();
  }
});
