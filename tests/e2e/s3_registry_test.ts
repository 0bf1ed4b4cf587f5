import assert from "node:assert/strict";
import { S3BlobDriver } from "../../drivers/blob/s3.ts";
import { startRegistry } from "../helpers/registry.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

Deno.test("the registry on S3", async (t) => {
  const s3 = await startS3rver();
  const s3doc = (root: string, redirect: boolean) => ({
    storage: {
      s3: { ...s3.options, rootdirectory: root },
      redirect: { disable: !redirect },
    },
    berth: { metadata: { driver: "memory" } },
  });
  try {
    await t.step("chunks of any size are staged into parts; the blob is whole", async () => {
      const reg = await startRegistry({ doc: s3doc("plain", false) });
      try {
        const post = await fetch(`${reg.url}/v2/s3/app/blobs/uploads/`, { method: "POST" });
        assert.equal(post.headers.get("oci-chunk-min-length"), String(5 * 1024 * 1024));
        let location = post.headers.get("location")!;
        const data = randomBytes(13 * 1024 * 1024);
        let at = 0;
        for (const size of [1, 100_000, 5 * 1024 * 1024 - 1, 5 * 1024 * 1024 + 1]) {
          const res = await fetch(reg.url + location, {
            method: "PATCH",
            body: data.subarray(at, at + size) as BodyInit,
            headers: { "Content-Range": `${at}-${at + size - 1}` },
          });
          assert.equal(res.status, 202, await res.text());
          location = res.headers.get("location")!;
          at += size;
        }
        const put = await fetch(`${reg.url}${location}&digest=${sha256(data)}`, {
          method: "PUT",
          body: data.subarray(at) as BodyInit,
        });
        assert.equal(put.status, 201, await put.text());
        const res = await fetch(`${reg.url}/v2/s3/app/blobs/${sha256(data)}`);
        assert.equal(sha256(await res.bytes()), sha256(data));
        const range = await fetch(`${reg.url}/v2/s3/app/blobs/${sha256(data)}`, {
          headers: { Range: "bytes=5-9" },
        });
        assert.equal(range.status, 206);
        assert.deepEqual(await range.bytes(), data.subarray(5, 10));
      } finally {
        await reg.close();
      }
    });
    await t.step("storage redirects send clients to a signed S3 URL", async () => {
      const reg = await startRegistry({ doc: s3doc("redirect", true) });
      try {
        const data = randomBytes(100_000);
        const mono = await fetch(`${reg.url}/v2/s3/app/blobs/uploads/?digest=${sha256(data)}`, {
          method: "POST",
          body: data as BodyInit,
        });
        assert.equal(mono.status, 201);
        const res = await fetch(`${reg.url}/v2/s3/app/blobs/${sha256(data)}`, {
          redirect: "manual",
        });
        assert.equal(res.status, 307);
        const location = res.headers.get("location")!;
        assert.ok(location.startsWith(s3.endpoint), location);
        assert.match(location, /X-Amz-Signature=/);
        const followed = await fetch(`${reg.url}/v2/s3/app/blobs/${sha256(data)}`);
        assert.equal(sha256(await followed.bytes()), sha256(data));
        const head = await fetch(`${reg.url}/v2/s3/app/blobs/${sha256(data)}`, { method: "HEAD" });
        assert.equal(head.status, 200, "HEAD is answered by the registry itself");
      } finally {
        await reg.close();
      }
    });
    await t.step("a referrer first uploaded as a blob serves its large annotations", async () => {
      // Bytes pushed through the upload path live where S3 completed the multipart upload
      // (blobs/_uploaded/<id>), not at the canonical key: reading them must use the record.
      const reg = await startRegistry({ doc: s3doc("referrers", false) });
      try {
        const config = new TextEncoder().encode("{}");
        const mono = await fetch(`${reg.url}/v2/s3/ref/blobs/uploads/?digest=${sha256(config)}`, {
          method: "POST",
          body: config as BodyInit,
        });
        assert.equal(mono.status, 201);
        const subject = "sha256:" + "5".repeat(64);
        const annotations = { "org.example.big": "x".repeat(20_000) };
        const referrer = new TextEncoder().encode(JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType: "application/x-big",
          config: {
            mediaType: "application/vnd.oci.empty.v1+json",
            digest: sha256(config),
            size: 2,
          },
          layers: [],
          subject: {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: subject,
            size: 9,
          },
          annotations,
        }));
        const digest = sha256(referrer);
        const blob = await fetch(`${reg.url}/v2/s3/ref/blobs/uploads/?digest=${digest}`, {
          method: "POST",
          body: referrer as BodyInit,
        });
        assert.equal(blob.status, 201);
        const put = await fetch(`${reg.url}/v2/s3/ref/manifests/${digest}`, {
          method: "PUT",
          body: referrer as BodyInit,
          headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        });
        assert.equal(put.status, 201, await put.text());
        const res = await fetch(`${reg.url}/v2/s3/ref/referrers/${subject}`);
        const text = await res.text();
        assert.equal(res.status, 200, text);
        const index = JSON.parse(text);
        assert.equal(index.manifests.length, 1);
        assert.deepEqual(index.manifests[0].annotations, annotations);
      } finally {
        await reg.close();
      }
    });
    await t.step("S3 going away is a 503 UNAVAILABLE, never a partial blob", async () => {
      const driver = new S3BlobDriver({
        ...s3.options,
        rootdirectory: "down",
        retries: 3,
        retrydelayms: 5,
      });
      const reg = await startRegistry({
        driver,
        doc: { berth: { metadata: { driver: "memory" } } },
      });
      try {
        const data = randomBytes(200_000);
        const ok = await fetch(`${reg.url}/v2/s3/down/blobs/uploads/?digest=${sha256(data)}`, {
          method: "POST",
          body: data as BodyInit,
        });
        assert.equal(ok.status, 201);
        await s3.stop();
        const res = await fetch(`${reg.url}/v2/s3/down/blobs/${sha256(data)}`);
        assert.ok(res.headers.get("retry-after"));
        await assertError(res, 503, "UNAVAILABLE");
        const other = randomBytes(1000);
        const push = await fetch(`${reg.url}/v2/s3/down/blobs/uploads/?digest=${sha256(other)}`, {
          method: "POST",
          body: other as BodyInit,
        });
        await assertError(push, 503, "UNAVAILABLE");
        const health = await fetch(`${reg.url}/healthz`);
        assert.equal(health.status, 503);
        await health.body?.cancel();
      } finally {
        await reg.close();
      }
    });
  } finally {
    await s3.stop();
  }
});
