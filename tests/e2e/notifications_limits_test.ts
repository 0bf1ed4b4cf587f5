/**
 * @module
 * The outbox stays within Deno KV's commit limits at the configuration's extremes: a
 * manifest pushed with the most tags one request may set, and deleted with all of them,
 * while the most endpoints are enabled, commits and queues every event for each of them.
 */
import assert from "node:assert/strict";
import { MAX_ENDPOINTS } from "../../src/config/notifications.ts";
import { MAX_TAGS_PER_PUT } from "../../src/registry/manifests.ts";
import { pushImage } from "../helpers/oci.ts";
import { Receiver } from "../helpers/receiver.ts";
import { startRegistry } from "../helpers/registry.ts";

Deno.test("notifications: the most tags per push, to the most endpoints, fit one commit", async () => {
  const receiver = await Receiver.start();
  const endpoints = Array.from({ length: MAX_ENDPOINTS }, (_, i) => ({
    name: `e${i}`,
    url: receiver.url(`/e${i}`),
  }));
  const reg = await startRegistry({ storage: "disk", doc: { notifications: { endpoints } } });
  try {
    // A long repository name and user agent make every event as large as it gets.
    const repo = `limits/${"n".repeat(180)}`;
    const image = await pushImage(reg.url, repo, 1);
    const tags = Array.from({ length: MAX_TAGS_PER_PUT - 1 }, (_, i) => `t${i}-${"x".repeat(100)}`);
    const query = tags.map((t) => `tag=${t}`).join("&");
    const put = await fetch(`${reg.url}/v2/${repo}/manifests/latest?${query}`, {
      method: "PUT",
      body: image.text,
      headers: {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "User-Agent": "u".repeat(4000),
      },
    });
    assert.equal(put.status, 201, await put.text());
    const del = await fetch(`${reg.url}/v2/${repo}/manifests/${image.digest}`, {
      method: "DELETE",
    });
    assert.equal(del.status, 202, await del.text());
    const expected = 2 + MAX_TAGS_PER_PUT * 2 + 1; // blobs, tag pushes, tag deletes, manifest
    await receiver.waitFor(
      () => endpoints.every((e) => receiver.events(`/e${e.name.slice(1)}`).length >= expected),
      20_000,
      "every endpoint's events",
    );
    for (const e of endpoints) {
      const events = receiver.events(`/${e.name}`);
      assert.equal(events.length, expected, e.name);
      assert.equal(new Set(events.map((x) => x.id)).size, expected, "distinct ids");
    }
  } finally {
    await reg.close();
    await receiver.close();
  }
});
