/**
 * @module
 * A request body that stops arriving (a client that announced 5 GiB, sent a little and
 * keeps the socket open) is aborted after `berth.uploads.stalltimeout`: the client is
 * answered `BLOB_UPLOAD_INVALID`, the writer's lease is given back, and the session goes
 * on from its last committed offset.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/registry.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";

/** Sends a request head plus the first bytes of a body, leaves the socket open, reads the answer. */
async function stalled(host: string, head: string, first: Uint8Array) {
  const [hostname, port] = host.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const started = performance.now();
  try {
    await conn.write(new TextEncoder().encode(head));
    await conn.write(first);
    let text = "";
    const buf = new Uint8Array(16384);
    const deadline = setTimeout(() => conn.close(), 20_000);
    try {
      while (!/\r\n\r\n[\s\S]*\}/.test(text)) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(deadline);
    }
    return {
      text,
      status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
      ms: performance.now() - started,
    };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the deadline */ }
  }
}

Deno.test("a stalled request body is aborted and the upload goes on from its offset", async () => {
  const reg = await startRegistry({
    storage: "disk",
    doc: { berth: { uploads: { stalltimeout: "1s", lease: "30s" } } },
  });
  try {
    const data = randomBytes(400_000);
    const post = await fetch(`${reg.url}/v2/stall/app/blobs/uploads/`, { method: "POST" });
    await post.body?.cancel();
    const first = await fetch(reg.url + post.headers.get("location"), {
      method: "PATCH",
      body: data.subarray(0, 100_000) as BodyInit,
      headers: { "Content-Range": "0-99999" },
    });
    assert.equal(first.status, 202);
    const location = first.headers.get("location")!;

    // 5 GiB announced, 50 KB sent, then nothing: answered after about a second, not never.
    const answer = await stalled(
      reg.host,
      `PATCH ${location} HTTP/1.1\r\nHost: ${reg.host}\r\nContent-Length: ${5 * 1024 ** 3}\r\n` +
        `Content-Range: 100000-${100000 + 5 * 1024 ** 3 - 1}\r\n\r\n`,
      data.subarray(100_000, 150_000),
    );
    assert.equal(answer.status, 400, answer.text);
    assert.match(answer.text, /"code":"BLOB_UPLOAD_INVALID"/);
    assert.match(answer.text, /sent nothing for 1 s/);
    assert.ok(answer.ms < 15_000, `answered after ${answer.ms} ms`);

    // The lease was given back (no 416 for 30 s) and nothing of the stalled body was kept.
    const status = await fetch(reg.url + location);
    await status.body?.cancel();
    assert.equal(status.status, 204);
    assert.equal(status.headers.get("upload-offset"), "100000");
    const rest = await fetch(reg.url + status.headers.get("location"), {
      method: "PATCH",
      body: data.subarray(100_000) as BodyInit,
      headers: { "Content-Range": `100000-${data.byteLength - 1}` },
    });
    assert.equal(rest.status, 202, await rest.text());
    const put = await fetch(`${reg.url}${rest.headers.get("location")}&digest=${sha256(data)}`, {
      method: "PUT",
    });
    assert.equal(put.status, 201, await put.text());
    const blob = await fetch(`${reg.url}/v2/stall/app/blobs/${sha256(data)}`);
    assert.equal(sha256(await blob.bytes()), sha256(data));

    // A manifest body that stalls is answered the same way.
    const manifest = await stalled(
      reg.host,
      `PUT /v2/stall/app/manifests/v1 HTTP/1.1\r\nHost: ${reg.host}\r\nContent-Length: 100000\r\n` +
        `Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\n`,
      new TextEncoder().encode('{"schemaVersion":'),
    );
    assert.equal(manifest.status, 400, manifest.text);
    assert.match(manifest.text, /"code":"MANIFEST_INVALID"/);
    assert.match(manifest.text, /sent nothing for 1 s/);
  } finally {
    await reg.close();
  }
});
