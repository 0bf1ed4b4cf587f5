import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, randomBytes, sha256 } from "../helpers/oci.ts";

async function open(reg: TestRegistry, repo: string) {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get("range"), "0-0");
  assert.equal(res.headers.get("content-length"), "0");
  const id = res.headers.get("docker-upload-uuid")!;
  assert.match(id, /^[0-9a-f-]{36}$/);
  const location = res.headers.get("location")!;
  assert.ok(location.startsWith(`/v2/${repo}/blobs/uploads/${id}?_state=`), location);
  return { id, location: new URL(location, reg.url).href };
}

function patch(location: string, bytes: Uint8Array, start?: number) {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  if (start !== undefined) headers["Content-Range"] = `${start}-${start + bytes.byteLength - 1}`;
  return fetch(location, { method: "PATCH", body: bytes as BodyInit, headers });
}

function withDigest(location: string, digest: string) {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u.href;
}

async function readBlob(reg: TestRegistry, repo: string, digest: string) {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200);
  return await res.bytes();
}

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`uploads (${storage})`, async (t) => {
    const reg = await startRegistry({ storage });
    const data = randomBytes(1_000_000);
    const digest = sha256(data);
    try {
      await t.step("chunked PATCH with Content-Range, then PUT", async () => {
        let { location } = await open(reg, "up/chunked");
        for (let at = 0; at < data.byteLength; at += 300_000) {
          const chunk = data.subarray(at, Math.min(at + 300_000, data.byteLength));
          const res = await patch(location, chunk, at);
          assert.equal(res.status, 202, await res.text());
          assert.equal(res.headers.get("range"), `0-${at + chunk.byteLength - 1}`);
          location = new URL(res.headers.get("location")!, reg.url).href;
        }
        const res = await fetch(withDigest(location, digest), { method: "PUT" });
        assert.equal(res.status, 201, await res.text());
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal(res.headers.get("location"), `/v2/up/chunked/blobs/${digest}`);
        assert.deepEqual(await readBlob(reg, "up/chunked", digest), data);
      });

      await t.step("a chunk at the wrong offset is 416 reporting the current Range", async () => {
        const { id, location } = await open(reg, "up/order");
        const first = await patch(location, data.subarray(0, 100), 0);
        assert.equal(first.status, 202);
        const next = new URL(first.headers.get("location")!, reg.url).href;
        for (const start of [0, 50, 101, 5000]) {
          const res = await patch(next, data.subarray(start, start + 10), start);
          assert.equal(res.headers.get("range"), "0-99");
          assert.equal(res.headers.get("docker-upload-uuid"), id);
          assert.ok(res.headers.get("location")?.includes(id));
          await assertError(res, 416, "RANGE_INVALID");
        }
        const status = await fetch(next);
        assert.equal(status.status, 204);
        assert.equal(status.headers.get("range"), "0-99");
        assert.ok(status.headers.get("location")?.includes(`/blobs/uploads/${id}`));
      });

      await t.step("a stale upload URL is 416; a forged one is BLOB_UPLOAD_INVALID", async () => {
        const { location } = await open(reg, "up/stale");
        const first = await patch(location, data.subarray(0, 10));
        assert.equal(first.status, 202);
        await first.body?.cancel();
        await assertError(await patch(location, data.subarray(10, 20)), 416, "RANGE_INVALID");
        const forged = new URL(location);
        const [payload, mac] = forged.searchParams.get("_state")!.split(".");
        forged.searchParams.set("_state", `${payload}x.${mac}`);
        await assertError(
          await patch(forged.href, data.subarray(10, 20)),
          400,
          "BLOB_UPLOAD_INVALID",
        );
        await assertError(await fetch(forged.href), 400, "BLOB_UPLOAD_INVALID");
      });

      await t.step("streamed PATCH without Content-Range, then an empty PUT", async () => {
        const { location } = await open(reg, "up/stream");
        const body = new ReadableStream({
          start(c) {
            for (let i = 0; i < data.byteLength; i += 65536) c.enqueue(data.slice(i, i + 65536));
            c.close();
          },
        });
        const res = await fetch(location, { method: "PATCH", body });
        assert.equal(res.status, 202);
        assert.equal(res.headers.get("range"), `0-${data.byteLength - 1}`);
        const put = await fetch(
          withDigest(res.headers.get("location")!.replace(/^/, reg.url), digest),
          {
            method: "PUT",
            headers: { "Content-Length": "0" },
          },
        );
        assert.equal(put.status, 201, await put.text());
        assert.deepEqual(await readBlob(reg, "up/stream", digest), data);
      });

      await t.step("POST then PUT with the whole body; PUT carrying the last chunk", async () => {
        const whole = await open(reg, "up/put");
        const res = await fetch(withDigest(whole.location, digest), {
          method: "PUT",
          body: data as BodyInit,
        });
        assert.equal(res.status, 201, await res.text());
        const split = await open(reg, "up/put2");
        const p = await patch(split.location, data.subarray(0, 400_000), 0);
        assert.equal(p.status, 202);
        const last = await fetch(
          withDigest(new URL(p.headers.get("location")!, reg.url).href, digest),
          {
            method: "PUT",
            body: data.subarray(400_000) as BodyInit,
            headers: { "Content-Range": `400000-${data.byteLength - 1}` },
          },
        );
        assert.equal(last.status, 201, await last.text());
        assert.deepEqual(await readBlob(reg, "up/put2", digest), data);
      });

      await t.step("a digest mismatch publishes nothing and ends the session", async () => {
        const { location } = await open(reg, "up/bad");
        const wrong = sha256("something else");
        const res = await fetch(withDigest(location, wrong), {
          method: "PUT",
          body: data as BodyInit,
        });
        await assertError(res, 400, "DIGEST_INVALID");
        await assertError(await fetch(`${reg.url}/v2/up/bad/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
        await assertError(await fetch(`${reg.url}/v2/up/bad/blobs/${digest}`), 404, "BLOB_UNKNOWN");
        await assertError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
        const mono = await fetch(`${reg.url}/v2/up/bad/blobs/uploads/?digest=${wrong}`, {
          method: "POST",
          body: data as BodyInit,
        });
        await assertError(mono, 400, "DIGEST_INVALID");
        await assertError(await fetch(`${reg.url}/v2/up/bad/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
      });

      await t.step("PUT without a digest, or with a malformed one, is DIGEST_INVALID", async () => {
        const { location } = await open(reg, "up/nodigest");
        await assertError(await fetch(location, { method: "PUT" }), 400, "DIGEST_INVALID");
        await assertError(
          await fetch(withDigest(location, "sha256:xyz"), { method: "PUT" }),
          400,
          "DIGEST_INVALID",
        );
        assert.equal((await fetch(location)).status, 204, "the session survives a rejected PUT");
      });

      await t.step("chunk sizes must match their headers", async () => {
        const { location } = await open(reg, "up/size");
        const res = await fetch(location, {
          method: "PATCH",
          body: data.subarray(0, 10) as BodyInit,
          headers: { "Content-Range": "0-19" },
        });
        await assertError(res, 400, "SIZE_INVALID");
        const status = await fetch(location);
        assert.equal(status.headers.get("range"), "0-0", "nothing was appended");
      });

      await t.step("DELETE cancels a session; unknown sessions are 404", async () => {
        const { location } = await open(reg, "up/cancel");
        await (await patch(location, data.subarray(0, 10))).body?.cancel();
        const res = await fetch(location, { method: "DELETE" });
        assert.equal(res.status, 204);
        await assertError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
        await assertError(await fetch(location, { method: "DELETE" }), 404, "BLOB_UPLOAD_UNKNOWN");
        const other = `${reg.url}/v2/up/cancel/blobs/uploads/${crypto.randomUUID()}`;
        await assertError(await fetch(other), 404, "BLOB_UPLOAD_UNKNOWN");
        await assertError(
          await fetch(`${reg.url}/v2/up/cancel/blobs/uploads/not-an-id`),
          404,
          "BLOB_UPLOAD_UNKNOWN",
        );
      });

      await t.step("a session belongs to its repository", async () => {
        const { id } = await open(reg, "up/mine");
        await assertError(
          await fetch(`${reg.url}/v2/up/yours/blobs/uploads/${id}`),
          404,
          "BLOB_UPLOAD_UNKNOWN",
        );
      });

      await t.step("sha512 digests, monolithic and chunked", async () => {
        const d512 = "sha512:" + createHash("sha512").update(data).digest("hex");
        const mono = await fetch(`${reg.url}/v2/up/sha512/blobs/uploads/?digest=${d512}`, {
          method: "POST",
          body: data as BodyInit,
        });
        assert.equal(mono.status, 201, await mono.text());
        assert.deepEqual(await readBlob(reg, "up/sha512", d512), data);
        const { location } = await open(reg, "up/sha512b");
        const p = await patch(location, data, 0);
        assert.equal(p.status, 202);
        const put = await fetch(
          withDigest(new URL(p.headers.get("location")!, reg.url).href, d512),
          { method: "PUT" },
        );
        assert.equal(put.status, 201, await put.text());
        assert.deepEqual(await readBlob(reg, "up/sha512b", d512), data);
      });

      await t.step("cross-repository mount", async () => {
        const { digest: small } = await pushBlob(reg.url, "mnt/src", "mount me");
        const res = await fetch(
          `${reg.url}/v2/mnt/dst/blobs/uploads/?mount=${small}&from=mnt/src`,
          {
            method: "POST",
          },
        );
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("docker-content-digest"), small);
        assert.equal(res.headers.get("location"), `/v2/mnt/dst/blobs/${small}`);
        assert.equal(new TextDecoder().decode(await readBlob(reg, "mnt/dst", small)), "mount me");
        const missing = await fetch(
          `${reg.url}/v2/mnt/dst2/blobs/uploads/?mount=${small}&from=mnt/none`,
          {
            method: "POST",
          },
        );
        assert.equal(missing.status, 202, "falls back to a normal session");
        assert.ok(missing.headers.get("docker-upload-uuid"));
        const anywhere = await fetch(`${reg.url}/v2/mnt/dst3/blobs/uploads/?mount=${small}`, {
          method: "POST",
        });
        assert.equal(anywhere.status, 201, "mount without from finds the blob");
        const unknown = await fetch(
          `${reg.url}/v2/mnt/dst4/blobs/uploads/?mount=${sha256("nope")}`,
          {
            method: "POST",
          },
        );
        assert.equal(unknown.status, 202);
        await assertError(
          await fetch(`${reg.url}/v2/mnt/dst/blobs/uploads/?mount=bad&from=mnt/src`, {
            method: "POST",
          }),
          400,
          "DIGEST_INVALID",
        );
      });

      await t.step(
        "concurrent chunks at the same offset: one wins, the upload stays whole",
        async () => {
          const { location } = await open(reg, "up/race");
          const a = randomBytes(200_000), b = randomBytes(200_000);
          const results = await Promise.all([patch(location, a, 0), patch(location, b, 0)]);
          const statuses = results.map((r) => r.status).sort();
          for (const r of results) await r.body?.cancel();
          assert.deepEqual(statuses, [202, 416]);
          const winner = results.find((r) => r.status === 202)!;
          const won = winner === results[0] ? a : b;
          const next = new URL(winner.headers.get("location")!, reg.url).href;
          const put = await fetch(withDigest(next, sha256(won)), { method: "PUT" });
          assert.equal(put.status, 201, await put.text());
          assert.deepEqual(await readBlob(reg, "up/race", sha256(won)), won);
        },
      );
    } finally {
      await reg.close();
    }
  });
}
