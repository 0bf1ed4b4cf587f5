import assert from "node:assert/strict";
import { startRegistry } from "../helpers/registry.ts";
import { pushImage, putManifest, sha256 } from "../helpers/oci.ts";

/** Sends raw bytes over TCP (for requests fetch refuses to build) and returns the status. */
async function raw(host: string, request: string): Promise<number> {
  const [hostname, port] = host.split(":");
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(request));
  await conn.closeWrite(); // a body shorter than announced ends here
  const buf = new Uint8Array(4096);
  const n = await conn.read(buf);
  conn.close();
  const status = /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
  return status ? Number(status[1]) : 0;
}

Deno.test("odd and hostile requests get OCI errors, never a 500", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const image = await pushImage(reg.url, "odd/app", 1);
    assert.equal((await putManifest(reg.url, "odd/app", "v1", image.text)).status, 201);
    const post = await fetch(`${reg.url}/v2/odd/app/blobs/uploads/`, { method: "POST" });
    const upload = post.headers.get("location")!;
    const digest = image.manifest.layers[0].digest;
    const cases: [string, RequestInit?][] = [
      ["/v2/%ZZ/blobs/" + digest],
      ["/v2/odd/app/blobs/SHA256:" + "a".repeat(64)],
      ["/v2/odd/app/blobs/sha256:" + "a".repeat(64) + "/extra"],
      ["/v2/odd/app/manifests/" + "x".repeat(3000)],
      ["/v2/odd/app/manifests/v1", { method: "PUT", body: "\u0000\u0001" }],
      ["/v2/odd/app/manifests/v1", {
        method: "PUT",
        body: "null",
        headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      }],
      ["/v2/odd/app/manifests/v1", {
        method: "PUT",
        body: JSON.stringify({ schemaVersion: 2, manifests: [null] }),
        headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" },
      }],
      ["/v2/odd/app/manifests/v1", {
        method: "PUT",
        body: JSON.stringify({ schemaVersion: 2, config: {}, layers: [{}] }),
      }],
      ["/v2/odd/app/manifests/" + sha256("x") + "?tag=bad tag", {
        method: "PUT",
        body: image.text,
      }],
      ["/v2/odd/app/manifests/v1", { method: "PATCH" }],
      ["/v2/odd/app/tags/list?n=99999999999"],
      ["/v2/odd/app/tags/list?n=5&last=" + "z".repeat(5000)],
      ["/v2/_catalog?last=%00"],
      ["/v2/odd/app/referrers/" + digest + "?artifactType="],
      ["/v2/odd/app/referrers/nope"],
      ["/v2/odd/app/blobs/uploads/?mount=" + digest + "&from=" + "A".repeat(300), {
        method: "POST",
      }],
      ["/v2/odd/app/blobs/uploads/?digest=sha256:zz", { method: "POST", body: "x" }],
      [upload, {
        method: "PATCH",
        body: "abc",
        headers: { "Content-Range": "99999999999999999999-1" },
      }],
      [upload, {
        method: "PATCH",
        body: "abc",
        headers: { "Content-Range": "0-2", "Content-Length": "3" },
      }],
      [upload + "&digest=" + sha256("nope"), { method: "PUT", body: "" }],
      ["/v2/odd/app/blobs/uploads/" + "../".repeat(5), { method: "GET" }],
      ["/v2/odd/app/blobs/" + digest, { headers: { Range: "bytes=999999999999999999999-" } }],
      ["/v2/odd/app/blobs/" + digest, { headers: { Range: "bytes=-99999999999999999999" } }],
      ["/token"],
      ["/healthz", { method: "POST" }],
    ];
    for (const [path, init] of cases) {
      const res = await fetch(reg.url + path, init);
      const text = await res.text();
      assert.ok(
        res.status < 500,
        `${init?.method ?? "GET"} ${path.slice(0, 80)} gave ${res.status}: ${text}`,
      );
      if (res.status >= 400 && init?.method !== "HEAD") {
        assert.ok(JSON.parse(text).errors[0].code, `no OCI error body for ${path.slice(0, 80)}`);
      }
    }
    // A body shorter than its Content-Length, and a header the client lies about.
    const short = await raw(
      reg.host,
      `PUT /v2/odd/app/manifests/v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}`,
    );
    assert.ok(short === 0 || short < 500, `truncated manifest gave ${short}`);
    const bad = await raw(
      reg.host,
      `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${
        "a".repeat(5000)
      }\r\nConnection: close\r\n\r\n`,
    );
    assert.ok(bad > 0 && bad < 500, `long request id gave ${bad}`);
    // The registry still works and nothing half-written is visible.
    assert.equal((await fetch(`${reg.url}/v2/odd/app/manifests/v1`)).status, 200);
    assert.equal(
      (await fetch(`${reg.url}/v2/odd/app/manifests/v2`, { method: "HEAD" })).status,
      404,
    );
  } finally {
    await reg.close();
  }
});
