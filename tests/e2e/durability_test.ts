import assert from "node:assert/strict";
import { startRegistry } from "../helpers/registry.ts";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";

/** Sends a request whose body stops after `sent` of `announced` bytes, then hangs up. */
async function truncatedRequest(
  host: string,
  method: string,
  path: string,
  announced: number,
  sent: Uint8Array,
) {
  const [hostname, port] = host.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${announced}\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n`;
  await conn.write(new TextEncoder().encode(head));
  let at = 0;
  while (at < sent.byteLength) at += await conn.write(sent.subarray(at));
  await new Promise((r) => setTimeout(r, 50));
  conn.close();
}

async function waitFor(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

Deno.test("an upload survives a restart and continues from the reported offset", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "berth-restart-" });
  const data = randomBytes(3_000_000);
  const digest = sha256(data);
  try {
    let reg = await startRegistry({ storage: "disk", dir });
    const post = await fetch(`${reg.url}/v2/r/x/blobs/uploads/`, { method: "POST" });
    const location = post.headers.get("location")!;
    const first = await fetch(reg.url + location, {
      method: "PATCH",
      body: data.subarray(0, 1_200_000) as BodyInit,
      headers: { "Content-Range": "0-1199999" },
    });
    assert.equal(first.status, 202);
    await reg.close();

    reg = await startRegistry({ storage: "disk", dir });
    await t.step("GET reports how far the upload got", async () => {
      const res = await fetch(reg.url + location);
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("range"), "0-1199999");
    });
    await t.step("PATCH from that offset and PUT publish the right blob", async () => {
      const status = await fetch(reg.url + location);
      const next = status.headers.get("location")!;
      const res = await fetch(reg.url + next, {
        method: "PATCH",
        body: data.subarray(1_200_000) as BodyInit,
        headers: { "Content-Range": `1200000-${data.byteLength - 1}` },
      });
      assert.equal(res.status, 202, await res.text());
      const put = await fetch(`${reg.url}${res.headers.get("location")}&digest=${digest}`, {
        method: "PUT",
      });
      assert.equal(put.status, 201, await put.text());
      const blob = await fetch(`${reg.url}/v2/r/x/blobs/${digest}`);
      assert.deepEqual(await blob.bytes(), data);
      const { coldResumes, coldBytes } = reg.runtime.hashers.stats;
      assert.equal(coldResumes, 1, "the digest state was rebuilt once from stored bytes");
      assert.equal(coldBytes, 1_200_000);
    });
    await reg.close();

    reg = await startRegistry({ storage: "disk", dir });
    await t.step("everything pushed is still there after another restart", async () => {
      const blob = await fetch(`${reg.url}/v2/r/x/blobs/${digest}`, { method: "HEAD" });
      assert.equal(blob.status, 200);
      assert.equal(blob.headers.get("content-length"), String(data.byteLength));
    });
    await reg.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("portable digest states continue without re-reading stored bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-portable-" });
  const doc = { berth: { uploads: { hashing: "portable" } } };
  const data = randomBytes(500_000);
  try {
    let reg = await startRegistry({ storage: "disk", dir, doc });
    const post = await fetch(`${reg.url}/v2/p/x/blobs/uploads/`, { method: "POST" });
    const first = await fetch(reg.url + post.headers.get("location"), {
      method: "PATCH",
      body: data.subarray(0, 200_000) as BodyInit,
    });
    assert.equal(first.status, 202);
    await reg.close();
    reg = await startRegistry({ storage: "disk", dir, doc });
    const put = await fetch(`${reg.url}${first.headers.get("location")}&digest=${sha256(data)}`, {
      method: "PUT",
      body: data.subarray(200_000) as BodyInit,
    });
    assert.equal(put.status, 201, await put.text());
    assert.equal(reg.runtime.hashers.stats.coldResumes, 0);
    await reg.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`a body cut off mid-way leaves nothing behind (${storage})`, async (t) => {
    const reg = await startRegistry({ storage });
    const data = randomBytes(400_000);
    try {
      await t.step("monolithic POST: no blob", async () => {
        await truncatedRequest(
          reg.host,
          "POST",
          `/v2/t/x/blobs/uploads/?digest=${sha256(data)}`,
          data.byteLength,
          data.subarray(0, 150_000),
        );
        await new Promise((r) => setTimeout(r, 100));
        await assertError(
          await fetch(`${reg.url}/v2/t/x/blobs/${sha256(data)}`),
          404,
          "BLOB_UNKNOWN",
        );
      });
      await t.step("PATCH: the session keeps its previous offset and can continue", async () => {
        const post = await fetch(`${reg.url}/v2/t/x/blobs/uploads/`, { method: "POST" });
        const location = post.headers.get("location")!;
        const first = await fetch(reg.url + location, {
          method: "PATCH",
          body: data.subarray(0, 1000) as BodyInit,
        });
        assert.equal(first.status, 202);
        const next = first.headers.get("location")!;
        await truncatedRequest(reg.host, "PATCH", next, 100_000, data.subarray(1000, 30_000));
        await waitFor(async () => {
          const res = await fetch(reg.url + next);
          await res.body?.cancel();
          return res.status === 204 && res.headers.get("range") === "0-999";
        }, "the session to settle at 0-999");
        // The server notices the hang-up, fails that request and releases its lease; until
        // then the client is told 416 and retries, as clients do.
        let res: Response;
        for (let i = 0;; i++) {
          res = await fetch(reg.url + next, {
            method: "PATCH",
            body: data.subarray(1000) as BodyInit,
            headers: { "Content-Range": `1000-${data.byteLength - 1}` },
          });
          if (res.status !== 416 || i === 100) break;
          await res.body?.cancel();
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(res.status, 202, await res.text());
        const put = await fetch(`${reg.url}${res.headers.get("location")}&digest=${sha256(data)}`, {
          method: "PUT",
        });
        assert.equal(put.status, 201, await put.text());
        const blob = await fetch(`${reg.url}/v2/t/x/blobs/${sha256(data)}`);
        assert.deepEqual(await blob.bytes(), data);
      });
      await t.step("manifest PUT cut off: no manifest, no tag", async () => {
        await truncatedRequest(
          reg.host,
          "PUT",
          "/v2/t/x/manifests/cut",
          5000,
          new TextEncoder().encode('{"schemaVersion":2,'),
        );
        await new Promise((r) => setTimeout(r, 50));
        await assertError(await fetch(`${reg.url}/v2/t/x/manifests/cut`), 404, "MANIFEST_UNKNOWN");
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("a slow chunk keeps its lease through renewals; a second writer waits it out", async () => {
  const reg = await startRegistry({
    storage: "disk",
    doc: { berth: { uploads: { lease: "1s" } } },
  });
  const data = randomBytes(600_000);
  try {
    const post = await fetch(`${reg.url}/v2/slow/x/blobs/uploads/`, { method: "POST" });
    const location = reg.url + post.headers.get("location");
    let sent = 0;
    const slow = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (sent >= data.byteLength) return c.close();
        await new Promise((r) => setTimeout(r, 200)); // 2.4 s in all: over two lease lengths
        c.enqueue(data.slice(sent, sent + 50_000));
        sent += 50_000;
      },
    });
    const patching = fetch(location, { method: "PATCH", body: slow });
    await new Promise((r) => setTimeout(r, 1500));
    const intruder = await fetch(location, {
      method: "PATCH",
      body: "x",
      headers: { "Content-Range": "0-0" },
    });
    // Busy, not out of order: the client is told when to try again and where the
    // upload stands, with the exact count (`Range: 0-0` cannot tell empty from one byte).
    assert.equal(intruder.headers.get("retry-after"), "1");
    assert.equal(intruder.headers.get("upload-offset"), "0");
    assert.equal(intruder.headers.get("range"), "0-0");
    assert.ok(intruder.headers.get("location")?.includes("_state="), "no Location to resume");
    await assertError(intruder, 416, "RANGE_INVALID");
    const res = await patching;
    assert.equal(res.status, 202, await res.text());
    assert.equal(res.headers.get("range"), `0-${data.byteLength - 1}`);
    assert.equal(res.headers.get("upload-offset"), String(data.byteLength));
    const status = await fetch(`${reg.url}${res.headers.get("location")}`);
    await status.body?.cancel();
    assert.equal(
      status.headers.get("range"),
      `0-${data.byteLength - 1}`,
      "the recorded offset is the acknowledged one",
    );
    const put = await fetch(`${reg.url}${res.headers.get("location")}&digest=${sha256(data)}`, {
      method: "PUT",
    });
    assert.equal(put.status, 201, await put.text());
  } finally {
    await reg.close();
  }
});
