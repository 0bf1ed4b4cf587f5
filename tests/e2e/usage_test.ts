/**
 * @module
 * `GET /v2/_berth/usage`: bytes per repository (all it links, and what only it links),
 * the deduplicated total, and the catalog's access rules.
 */
import assert from "node:assert/strict";
import type { Usage } from "../../src/gc/usage.ts";
import { basic, htpasswdFile, startAuthRegistry } from "../helpers/auth.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import { systemContext } from "../../src/registry/events.ts";
import { layers, OCI_MANIFEST, pushImage } from "../helpers/gc.ts";
import { assertError, sha256 } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

Deno.test("storage usage counts each repository's bytes, its own bytes and the shared total", async () => {
  const reg = await startRegistry();
  try {
    const shared = layers(2);
    const a = await pushImage(reg.url, "usage/a", "v1", [...shared, ...layers(1)]);
    const b = await pushImage(reg.url, "usage/b", "v1", [...shared]);
    const sizesOf = (image: typeof a) => Object.values(image.sizes);
    const sharedSize = shared.reduce((n, l) => n + l.byteLength, 0);
    const res = await fetch(`${reg.url}/v2/_berth/usage`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    const usage: Usage = await res.json();
    const aBytes = sum(sizesOf(a)) + a.size;
    const bBytes = sum(sizesOf(b)) + b.size;
    assert.deepEqual(usage.repositories, [
      { name: "usage/a", bytes: aBytes, unique: aBytes - sharedSize, blobs: 5 },
      { name: "usage/b", bytes: bBytes, unique: bBytes - sharedSize, blobs: 4 },
    ]);
    assert.deepEqual(usage.total, { bytes: aBytes + bBytes - sharedSize, blobs: 7 });
    assert.deepEqual(usage.stored, usage.total, "every record is referenced");
    assert.ok(Date.parse(usage.counted) <= Date.now());
    // Counted at most every 30 s: a push right after does not show yet.
    await pushImage(reg.url, "usage/c", "v1", layers(1));
    const again: Usage = await (await fetch(`${reg.url}/v2/_berth/usage`)).json();
    assert.equal(again.counted, usage.counted);
  } finally {
    await reg.close();
  }
});

Deno.test("storage usage needs catalog access and shows what the caller may pull", async () => {
  const path = await htpasswdFile({ alice: "a-pass", bob: "b-pass", root: "r-pass" });
  const reg = await startAuthRegistry({
    htpasswd: { realm: "usage", path },
    policy: {
      rules: [
        { users: ["root"], repositories: ["**"], actions: ["*"] },
        { users: ["alice"], repositories: ["team/**"], actions: ["pull"] },
        { users: ["bob"], repositories: ["**"], actions: ["pull"] },
      ],
      catalog: { users: ["alice", "root"] },
    },
  });
  try {
    const root = basic("root", "r-pass");
    // Pushed through the registry itself: the HTTP helpers carry no credentials.
    for (const name of ["team/app", "secret/app"]) {
      const repo = reg.runtime.deps.registry.repository(name, systemContext());
      const blob = new TextEncoder().encode(`{"repo":"${name}"}`);
      const digest = parseDigest(sha256(blob));
      await repo.uploads.monolithic(digest, new Blob([blob]).stream());
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: digest.value,
          size: blob.byteLength,
        },
        layers: [],
      });
      await repo.manifests.put("v1", new TextEncoder().encode(manifest), OCI_MANIFEST, []);
    }
    const alice: Usage = await (await fetch(`${reg.url}/v2/_berth/usage`, {
      headers: basic("alice", "a-pass"),
    })).json();
    assert.deepEqual(alice.repositories.map((r) => r.name), ["team/app"]);
    assert.equal(alice.stored, undefined, "a caller who sees part of the registry sees no total");
    const all: Usage = await (await fetch(`${reg.url}/v2/_berth/usage`, { headers: root })).json();
    assert.deepEqual(all.repositories.map((r) => r.name), ["secret/app", "team/app"]);
    assert.ok(all.stored);
    await assertError(
      await fetch(`${reg.url}/v2/_berth/usage`, { headers: basic("bob", "b-pass") }),
      403,
      "DENIED",
    );
    await assertError(await fetch(`${reg.url}/v2/_berth/usage`), 401, "UNAUTHORIZED");
  } finally {
    await reg.close();
    await Deno.remove(path);
  }
});
