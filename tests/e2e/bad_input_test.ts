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

Deno.test("odd and hostile requests get the status and OCI error they call for, never a 500", async () => {
  const reg = await startRegistry({ storage: "disk" });
  try {
    const image = await pushImage(reg.url, "odd/app", 1);
    assert.equal((await putManifest(reg.url, "odd/app", "v1", image.text)).status, 201);
    const post = await fetch(`${reg.url}/v2/odd/app/blobs/uploads/`, { method: "POST" });
    const upload = post.headers.get("location")!;
    const digest = image.manifest.layers[0].digest;
    // Each case: path, request, and the status and OCI code it must be answered with.
    const cases: [string, RequestInit | undefined, number, string | null][] = [
      ["/v2/%ZZ/blobs/" + digest, undefined, 400, "NAME_INVALID"],
      ["/v2/odd/app/blobs/SHA256:" + "a".repeat(64), undefined, 400, "DIGEST_INVALID"],
      ["/v2/odd/app/blobs/sha256:" + "a".repeat(64) + "/extra", undefined, 404, "UNSUPPORTED"],
      // Neither a digest nor a tag names no manifest: 404, as the specification says.
      ["/v2/odd/app/manifests/" + "x".repeat(3000), undefined, 404, "MANIFEST_UNKNOWN"],
      ["/v2/odd/app/manifests/.INVALID_MANIFEST_NAME", undefined, 404, "MANIFEST_UNKNOWN"],
      ["/v2/odd/app/manifests/.INVALID_MANIFEST_NAME", { method: "HEAD" }, 404, null],
      ["/v2/odd/app/manifests/.INVALID", { method: "DELETE" }, 404, "MANIFEST_UNKNOWN"],
      [
        "/v2/odd/app/manifests/v1",
        { method: "PUT", body: "\u0000\u0001" },
        400,
        "MANIFEST_INVALID",
      ],
      [
        "/v2/odd/app/manifests/v1",
        {
          method: "PUT",
          body: "null",
          headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        },
        400,
        "MANIFEST_INVALID",
      ],
      [
        "/v2/odd/app/manifests/v1",
        {
          method: "PUT",
          body: JSON.stringify({ schemaVersion: 2, manifests: [null] }),
          headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" },
        },
        400,
        "MANIFEST_INVALID",
      ],
      [
        "/v2/odd/app/manifests/v1",
        {
          method: "PUT",
          body: JSON.stringify({ schemaVersion: 2, config: {}, layers: [{}] }),
        },
        400,
        "MANIFEST_INVALID",
      ],
      [
        "/v2/odd/app/manifests/" + sha256("x") + "?tag=bad tag",
        {
          method: "PUT",
          body: image.text,
        },
        400,
        "TAG_INVALID",
      ],
      ["/v2/odd/app/manifests/bad%20tag", { method: "PUT", body: image.text }, 400, "TAG_INVALID"],
      ["/v2/odd/app/manifests/v1", { method: "PATCH" }, 405, "UNSUPPORTED"],
      ["/v2/odd/app/tags/list?n=99999999999", undefined, 400, "PAGINATION_NUMBER_INVALID"],
      ["/v2/odd/app/tags/list?n=5&last=" + "z".repeat(5000), undefined, 200, null],
      ["/v2/_catalog?last=%00", undefined, 200, null],
      ["/v2/odd/app/referrers/" + digest + "?artifactType=", undefined, 200, null],
      ["/v2/odd/app/referrers/nope", undefined, 400, "DIGEST_INVALID"],
      // An invalid `from` cannot hold the blob: a plain upload session instead.
      [
        "/v2/odd/app/blobs/uploads/?mount=" + digest + "&from=" + "A".repeat(300),
        {
          method: "POST",
        },
        202,
        null,
      ],
      [
        "/v2/odd/app/blobs/uploads/?digest=sha256:zz",
        { method: "POST", body: "x" },
        400,
        "DIGEST_INVALID",
      ],
      [
        upload,
        {
          method: "PATCH",
          body: "abc",
          headers: { "Content-Range": "99999999999999999999-1" },
        },
        416,
        "RANGE_INVALID",
      ],
      [
        upload,
        {
          method: "PATCH",
          body: "abc",
          headers: { "Content-Range": "0-2", "Content-Length": "3" },
        },
        202,
        null,
      ],
      // The URL's state still says offset 0 while the session holds 3 bytes: a stale URL.
      [upload + "&digest=" + sha256("nope"), { method: "PUT", body: "" }, 416, "RANGE_INVALID"],
      // fetch resolves the dot segments: this is GET /, which is no API endpoint.
      ["/v2/odd/app/blobs/uploads/" + "../".repeat(5), { method: "GET" }, 404, "UNSUPPORTED"],
      // Ranges that are not a single satisfiable range are ignored: the whole blob.
      [
        "/v2/odd/app/blobs/" + digest,
        { headers: { Range: "bytes=999999999999999999999-" } },
        200,
        null,
      ],
      [
        "/v2/odd/app/blobs/" + digest,
        { headers: { Range: "bytes=-99999999999999999999" } },
        200,
        null,
      ],
      [
        "/v2/odd/app/blobs/" + digest,
        { headers: { Range: "bytes=99999999-" } },
        416,
        "RANGE_INVALID",
      ],
      ["/token", undefined, 404, "UNSUPPORTED"],
      ["/healthz", { method: "POST" }, 405, "UNSUPPORTED"],
    ];
    const checked: string[] = [];
    for (const [path, init, status, code] of cases) {
      const what = `${init?.method ?? "GET"} ${path.slice(0, 80)}`;
      const res = await fetch(reg.url + path, init);
      const text = await res.text();
      assert.equal(res.status, status, `${what} gave ${res.status}: ${text}`);
      if (code !== null) {
        assert.equal(JSON.parse(text).errors[0].code, code, `${what}: ${text}`);
      } else if (status >= 400 && init?.method !== "HEAD") {
        assert.ok(JSON.parse(text).errors[0].code, `no OCI error body for ${what}`);
      }
      checked.push(what);
    }
    assert.equal(checked.length, cases.length);
    // A body shorter than its Content-Length, and a header the client lies about.
    const short = await raw(
      reg.host,
      `PUT /v2/odd/app/manifests/v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{}`,
    );
    // The server may answer the half-closed connection (400, the body ended early) or drop
    // it (0); it never stores a manifest from the cut-off bytes.
    assert.ok(short === 0 || short === 400, `truncated manifest gave ${short}`);
    const bad = await raw(
      reg.host,
      `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${
        "a".repeat(5000)
      }\r\nConnection: close\r\n\r\n`,
    );
    // An id that is no sane token is replaced, not refused.
    assert.equal(bad, 200, `long request id gave ${bad}`);
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
