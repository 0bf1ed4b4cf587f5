import assert from "node:assert/strict";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, randomBytes, sha256 } from "../helpers/oci.ts";

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`blobs (${storage}): read, ranges, links and delete`, async (t) => {
    const reg: TestRegistry = await startRegistry({ storage });
    const data = randomBytes(300_000);
    const { digest } = await pushBlob(reg.url, "a/x", data);
    const url = `${reg.url}/v2/a/x/blobs/${digest}`;
    try {
      await t.step("GET serves the bytes with digest headers", async () => {
        const res = await fetch(url);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-length"), String(data.byteLength));
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal(res.headers.get("etag"), `"${digest}"`);
        assert.equal(res.headers.get("accept-ranges"), "bytes");
        assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
        assert.deepEqual(await res.bytes(), data);
      });
      await t.step("HEAD has the headers and no body", async () => {
        const res = await fetch(url, { method: "HEAD" });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-length"), String(data.byteLength));
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal((await res.bytes()).byteLength, 0);
      });
      await t.step("a single range is a 206 with Content-Range", async () => {
        const res = await fetch(url, { headers: { Range: "bytes=1000-1999" } });
        assert.equal(res.status, 206);
        assert.equal(res.headers.get("content-range"), `bytes 1000-1999/${data.byteLength}`);
        assert.equal(res.headers.get("content-length"), "1000");
        assert.deepEqual(await res.bytes(), data.slice(1000, 2000));
        const tail = await fetch(url, { headers: { Range: "bytes=-10" } });
        assert.equal(tail.status, 206);
        assert.deepEqual(await tail.bytes(), data.slice(-10));
      });
      await t.step("an unsatisfiable range is 416 with bytes */size", async () => {
        const res = await fetch(url, { headers: { Range: `bytes=${data.byteLength}-` } });
        assert.equal(res.headers.get("content-range"), `bytes */${data.byteLength}`);
        await assertError(res, 416, "RANGE_INVALID");
      });
      await t.step("another repository does not see the blob", async () => {
        await assertError(await fetch(`${reg.url}/v2/b/y/blobs/${digest}`), 404, "BLOB_UNKNOWN");
        const head = await fetch(`${reg.url}/v2/b/y/blobs/${digest}`, { method: "HEAD" });
        assert.equal(head.status, 404);
        assert.equal((await head.bytes()).byteLength, 0, "HEAD errors have no body");
      });
      await t.step("malformed digests and names are 400s", async () => {
        await assertError(await fetch(`${reg.url}/v2/a/x/blobs/sha256:abc`), 400, "DIGEST_INVALID");
        await assertError(
          await fetch(`${reg.url}/v2/a/x/blobs/md5:${"a".repeat(32)}`),
          400,
          "DIGEST_INVALID",
        );
        await assertError(await fetch(`${reg.url}/v2/A/x/blobs/${digest}`), 400, "NAME_INVALID");
        await assertError(
          await fetch(`${reg.url}/v2/a%2F..%2Fb/blobs/${digest}`),
          400,
          "NAME_INVALID",
        );
      });
      await t.step("zero-length blobs are valid blobs", async () => {
        const empty = await pushBlob(reg.url, "a/x", new Uint8Array(0));
        assert.equal(empty.digest, sha256(new Uint8Array(0)));
        const res = await fetch(`${reg.url}/v2/a/x/blobs/${empty.digest}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-length"), "0");
        assert.equal((await res.bytes()).byteLength, 0);
      });
      await t.step("DELETE removes the repository's link only", async () => {
        const other = await pushBlob(reg.url, "c/z", data);
        assert.equal(other.digest, digest);
        const del = await fetch(url, { method: "DELETE" });
        assert.equal(del.status, 202);
        await del.body?.cancel();
        await assertError(await fetch(url), 404, "BLOB_UNKNOWN");
        await assertError(await fetch(url, { method: "DELETE" }), 404, "BLOB_UNKNOWN");
        const still = await fetch(`${reg.url}/v2/c/z/blobs/${digest}`);
        assert.equal(still.status, 200);
        assert.deepEqual(await still.bytes(), data);
      });
      await t.step("unknown paths are 404 and wrong methods 405", async () => {
        await assertError(await fetch(`${reg.url}/v2/a/x/nothing`), 404, "UNSUPPORTED");
        const res = await fetch(url, { method: "POST" });
        assert.ok(res.headers.get("allow")?.includes("GET"));
        await assertError(res, 405, "UNSUPPORTED");
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("blobs: deletion can be switched off", async () => {
  const reg = await startRegistry({ doc: { storage: { delete: { enabled: false } } } });
  try {
    const { digest } = await pushBlob(reg.url, "a/x", "hello");
    const res = await fetch(`${reg.url}/v2/a/x/blobs/${digest}`, { method: "DELETE" });
    await assertError(res, 405, "UNSUPPORTED");
    assert.equal((await fetch(`${reg.url}/v2/a/x/blobs/${digest}`)).status, 200);
  } finally {
    await reg.close();
  }
});

Deno.test("base endpoint and request ids", async (t) => {
  const reg = await startRegistry();
  try {
    await t.step("GET /v2/ is 200 {}", async () => {
      const res = await fetch(`${reg.url}/v2/`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {});
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    });
    await t.step("a client request id is reused, an unsafe one replaced", async () => {
      const res = await fetch(`${reg.url}/v2/`, { headers: { "X-Request-Id": "abc-123" } });
      await res.body?.cancel();
      assert.equal(res.headers.get("x-request-id"), "abc-123");
      const bad = await fetch(`${reg.url}/v2/`, { headers: { "X-Request-Id": 'a b"<>' } });
      await bad.body?.cancel();
      assert.notEqual(bad.headers.get("x-request-id"), 'a b"<>');
    });
    await t.step("/healthz checks both drivers", async () => {
      const res = await fetch(`${reg.url}/healthz`);
      assert.equal(res.status, 200);
      const report = await res.json();
      assert.equal(report.status, "ok");
      assert.deepEqual(report.checks.map((c: { name: string }) => c.name), [
        "blobs:memory",
        "metadata:memory",
      ]);
    });
  } finally {
    await reg.close();
  }
});
