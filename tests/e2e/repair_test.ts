/**
 * @module
 * A blob exists only while its bytes are there and whole. When a file under the blob
 * store is lost or cut short, HEAD and GET say 404 (so clients upload it again instead of
 * skipping it), and the verified re-push replaces the bytes; the same holds for manifest
 * bytes. Runs on the filesystem driver, where a blob's size can be checked cheaply.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/registry.ts";
import {
  assertError,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  sha256,
} from "../helpers/oci.ts";

const REPO = "repair/app";

/** Path of a blob's file under a disk registry's data directory. */
function blobFile(dir: string, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return `${dir}/blobs/blobs/sha256/${hex.slice(0, 2)}/${hex}`;
}

/** Pushes `data` with POST, one PATCH and PUT (the chunked path). */
async function pushChunked(url: string, data: Uint8Array): Promise<Response> {
  const post = await fetch(`${url}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
  await post.body?.cancel();
  const patch = await fetch(url + post.headers.get("location"), {
    method: "PATCH",
    body: data as BodyInit,
    headers: { "Content-Range": `0-${data.byteLength - 1}` },
  });
  assert.equal(patch.status, 202, await patch.text());
  return await fetch(`${url}${patch.headers.get("location")}&digest=${sha256(data)}`, {
    method: "PUT",
  });
}

Deno.test("lost or cut-short blob bytes read as absent and a re-push repairs them", async (t) => {
  const reg = await startRegistry({ storage: "disk" });
  const url = reg.url;
  try {
    for (
      const [damage, harm] of [
        ["deleted", (path: string) => Deno.remove(path)],
        ["truncated", (path: string) => Deno.truncate(path, 1000)],
      ] as const
    ) {
      for (const push of ["monolithic", "chunked"] as const) {
        await t.step(`${damage}, repaired by a ${push} push`, async () => {
          const data = randomBytes(300_000);
          const { digest } = await pushBlob(url, REPO, data);
          await harm(blobFile(reg.dir!, digest));

          const head = await fetch(`${url}/v2/${REPO}/blobs/${digest}`, { method: "HEAD" });
          assert.equal(head.status, 404, "HEAD says the blob is there; clients would skip it");
          await assertError(await fetch(`${url}/v2/${REPO}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
          // A mount from a repository whose link survived the loss must not succeed either.
          const mount = await fetch(
            `${url}/v2/other/app/blobs/uploads/?mount=${digest}&from=${REPO}`,
            { method: "POST" },
          );
          await mount.body?.cancel();
          assert.equal(mount.status, 202, "a mount of missing bytes falls back to an upload");

          const again = push === "monolithic"
            ? await fetch(`${url}/v2/${REPO}/blobs/uploads/?digest=${digest}`, {
              method: "POST",
              body: data as BodyInit,
            })
            : await pushChunked(url, data);
          assert.equal(again.status, 201, await again.text());
          const res = await fetch(`${url}/v2/${REPO}/blobs/${digest}`);
          assert.equal(res.status, 200);
          assert.equal(sha256(await res.bytes()), digest, "the re-push was thrown away");
          assert.equal((await Deno.stat(blobFile(reg.dir!, digest))).size, data.byteLength);
        });
      }
    }

    await t.step("lost manifest bytes: GET is MANIFEST_UNKNOWN and a re-push repairs", async () => {
      const image = await pushImage(url, REPO, 1);
      assert.equal((await putManifest(url, REPO, "v1", image.text)).status, 201);
      await Deno.remove(blobFile(reg.dir!, image.digest));
      // A second registry on the same data has no bytes cached in memory.
      const fresh = await startRegistry({ storage: "disk", dir: reg.dir });
      try {
        await assertError(
          await fetch(`${fresh.url}/v2/${REPO}/manifests/v1`),
          404,
          "MANIFEST_UNKNOWN",
        );
        assert.equal((await putManifest(fresh.url, REPO, "v1", image.text)).status, 201);
        const res = await fetch(`${fresh.url}/v2/${REPO}/manifests/v1`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), image.text);
        assert.ok((await Deno.stat(blobFile(reg.dir!, image.digest))).isFile);
      } finally {
        await fresh.close();
      }
    });
  } finally {
    await reg.close();
  }
});
