/**
 * End-to-end tests of `/v2/<name>/manifests/<reference>` over real HTTP: every manifest
 * kind round-trips byte for byte, every refusal has its status and OCI code, size limits,
 * name and tag grammar, `Accept` negotiation, request ids and switched-off deletion.
 * Tag lifecycle (multi-tag PUT, retag, DELETE, races) lives in `tags_catalog_test.ts`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest, sha256 } from "../helpers/oci.ts";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const MIB = 1024 * 1024;
const enc = new TextEncoder();

function manifestUrl(reg: TestRegistry, repo: string, ref: string): string {
  return `${reg.url}/v2/${repo}/manifests/${ref}`;
}

function call(reg: TestRegistry, repo: string, ref: string, init: RequestInit = {}) {
  return fetch(manifestUrl(reg, repo, ref), init);
}

/**
 * JSON with reversed key order, tabs, newlines and a `\u00e9` escape: any re-serialisation
 * by the registry would change these bytes (and so the digest).
 */
function oddJson(value: unknown): string {
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return "[ " + v.map(write).join(" ,\n\t") + " ]";
    if (v && typeof v === "object") {
      const entries = Object.entries(v).reverse();
      return "{\n   " + entries.map(([k, x]) => `${JSON.stringify(k)} :\t${write(x)}`)
        .join(",\n  ") +
        "\n}";
    }
    return JSON.stringify(v);
  };
  return write(value).replaceAll("CAFE", "caf\\u00e9") + "\n\n";
}

/** Asserts a 200 manifest response carrying exactly `text` (no body for HEAD). */
async function assertServed(res: Response, text: string, mediaType: string, head = false) {
  const bytes = enc.encode(text);
  const got = await res.bytes();
  assert.equal(res.status, 200, new TextDecoder().decode(got));
  assert.equal(res.headers.get("content-type"), mediaType);
  assert.equal(res.headers.get("docker-content-digest"), sha256(bytes));
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  assert.ok(res.headers.get("x-request-id"));
  assert.equal(res.headers.get("content-length"), String(bytes.byteLength));
  assert.deepEqual(got, head ? new Uint8Array(0) : bytes, "HEAD has no body; GET the exact bytes");
}

async function assertCreated(res: Response, repo: string, digest: string) {
  const text = await res.text();
  assert.equal(res.status, 201, text);
  assert.equal(res.headers.get("location"), `/v2/${repo}/manifests/${digest}`);
  assert.equal(res.headers.get("docker-content-digest"), digest);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
}

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`manifests (${storage}): every kind round-trips as the exact bytes pushed`, async (t) => {
    const reg = await startRegistry({ storage });
    const repo = "rt/app";
    try {
      const config = await pushBlob(reg.url, repo, '{"architecture":"amd64","os":"linux"}');
      const layer = await pushBlob(reg.url, repo, "layer bytes");
      const image = {
        schemaVersion: 2,
        mediaType: OCI,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        annotations: { "org.example.note": "CAFE ✓ 🚢 naïve" },
      };
      const docker = {
        schemaVersion: 2,
        mediaType: DOCKER,
        config: { mediaType: DOCKER_CONFIG, ...config },
        layers: [{ mediaType: DOCKER_LAYER, ...layer }],
      };
      const imageText = oddJson(image);
      const dockerText = oddJson(docker);
      const child = (text: string, mediaType: string, architecture: string) => ({
        mediaType,
        digest: sha256(text),
        size: enc.encode(text).byteLength,
        platform: { os: "linux", architecture },
      });
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [child(imageText, OCI, "amd64")],
        annotations: { "org.example.kind": "index" },
      };
      const list = {
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: [child(dockerText, DOCKER, "arm64")],
      };
      const artifactConfig = await pushBlob(reg.url, repo, '{"tool":"example"}');
      const artifact = {
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: "application/vnd.example.sbom",
        config: { mediaType: "application/vnd.example+json", ...artifactConfig },
        layers: [{ mediaType: "application/vnd.example.sbom.v1", ...layer }],
      };
      const kinds: [string, string, string, "tag" | "digest"][] = [
        ["oci", imageText, OCI, "tag"],
        ["docker", dockerText, DOCKER, "digest"],
        ["index", oddJson(index), OCI_INDEX, "digest"],
        ["list", oddJson(list), DOCKER_LIST, "tag"],
        ["artifact", oddJson(artifact), OCI, "tag"],
      ];
      for (const [tag, text, mediaType, by] of kinds) {
        await t.step(`${tag}: PUT by ${by}, GET and HEAD by tag and digest`, async () => {
          const digest = sha256(text);
          const ref = by === "tag" ? tag : digest;
          await assertCreated(await putManifest(reg.url, repo, ref, text, mediaType), repo, digest);
          if (by === "digest") {
            const res = await putManifest(reg.url, repo, tag, text, mediaType);
            await assertCreated(res, repo, digest);
          }
          for (const r of [tag, digest]) {
            await assertServed(await call(reg, repo, r), text, mediaType);
            await assertServed(await call(reg, repo, r, { method: "HEAD" }), text, mediaType, true);
          }
        });
      }
      await t.step("pushing the same bytes again is idempotent", async () => {
        const res = await putManifest(reg.url, repo, "oci", imageText);
        await assertCreated(res, repo, sha256(imageText));
        await assertServed(await call(reg, repo, "oci"), imageText, OCI);
      });
      await t.step("a generic Content-Type defers to the manifest's mediaType", async () => {
        const text = oddJson({ ...image, annotations: { generic: "yes" } });
        const res = await putManifest(reg.url, repo, "generic", text, "application/json");
        await assertCreated(res, repo, sha256(text));
        await assertServed(await call(reg, repo, "generic"), text, OCI);
      });
      await t.step("a manifest's digest is readable as a blob of its repository", async () => {
        const res = await fetch(`${reg.url}/v2/${repo}/blobs/${sha256(imageText)}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("docker-content-digest"), sha256(imageText));
        assert.equal(res.headers.get("content-length"), String(enc.encode(imageText).length));
        assert.deepEqual(await res.bytes(), enc.encode(imageText));
      });
      await t.step("PUT by sha512 digest stores and serves under that digest", async () => {
        const text = oddJson({ ...image, annotations: { algorithm: "sha512" } });
        const digest = "sha512:" + createHash("sha512").update(text).digest("hex");
        await assertCreated(await putManifest(reg.url, repo, digest, text), repo, digest);
        const res = await call(reg, repo, digest);
        assert.equal(res.headers.get("docker-content-digest"), digest);
        assert.equal(await res.text(), text);
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("manifests: malformed documents are refused with their codes", async (t) => {
  const reg = await startRegistry();
  const repo = "bad/app";
  try {
    const { manifest } = await pushImage(reg.url, repo, 1);
    const layer0 = manifest.layers[0];
    const image = manifest as Record<string, unknown>;
    const refuse = async (doc: unknown, type: string, status: number, code: string) => {
      await assertError(await putManifest(reg.url, repo, "x", doc as object, type), status, code);
    };
    await t.step("PUT by digest whose body has another digest is DIGEST_INVALID", async () => {
      const text = JSON.stringify(manifest);
      const claimed = sha256(text + " ");
      await assertError(await putManifest(reg.url, repo, claimed, text), 400, "DIGEST_INVALID");
      await assertError(await call(reg, repo, claimed), 404, "MANIFEST_UNKNOWN");
      await assertError(await call(reg, repo, sha256(text)), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("unparseable or wrongly versioned documents are MANIFEST_INVALID", async () => {
      for (const doc of ["{not json", "", "[]", '"text"', "null"]) {
        await refuse(doc, OCI, 400, "MANIFEST_INVALID");
      }
      for (const schemaVersion of [1, "2", 3, undefined]) {
        await refuse({ ...image, schemaVersion }, OCI, 400, "MANIFEST_INVALID");
      }
    });
    await t.step("media types that disagree or are unsupported are MANIFEST_INVALID", async () => {
      await refuse(image, DOCKER, 400, "MANIFEST_INVALID"); // header Docker, body OCI
      await refuse({ ...image, mediaType: DOCKER }, OCI, 400, "MANIFEST_INVALID");
      await refuse(image, OCI_INDEX, 400, "MANIFEST_INVALID");
      const { mediaType: _, ...untyped } = image;
      await refuse(untyped, "application/vnd.example.unknown+json", 400, "MANIFEST_INVALID");
      await refuse({ ...image, mediaType: "text/x-nope" }, "text/x-nope", 400, "MANIFEST_INVALID");
      for (const schema1 of ["v1+json", "v1+prettyjws"]) {
        const type = `application/vnd.docker.distribution.manifest.${schema1}`;
        const doc = { schemaVersion: 1, name: repo, tag: "x", fsLayers: [], history: [] };
        await refuse(doc, type, 400, "MANIFEST_INVALID");
        await refuse({ ...image, mediaType: type }, type, 400, "MANIFEST_INVALID");
      }
    });
    await t.step("broken descriptors and size mismatches are MANIFEST_INVALID", async () => {
      const broken: unknown[] = [
        { ...image, config: undefined },
        { ...image, layers: {} },
        { ...image, layers: [{ ...layer0, digest: "sha256:short" }] },
        { ...image, layers: [{ ...layer0, size: -1 }] },
        { ...image, layers: [{ ...layer0, size: "1024" }] },
        { ...image, layers: [{ ...layer0, mediaType: undefined }] },
        { ...image, annotations: { n: 1 } },
        { ...image, layers: [{ ...layer0, size: layer0.size + 1 }] },
        { ...image, config: { ...manifest.config, size: manifest.config.size - 1 } },
        { schemaVersion: 2, mediaType: OCI_INDEX, manifests: "none" },
      ];
      for (const doc of broken) {
        const type = (doc as { mediaType: string }).mediaType;
        await refuse(doc, type, 400, "MANIFEST_INVALID");
      }
      await assertError(await call(reg, repo, "x"), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("a missing layer or config is MANIFEST_BLOB_UNKNOWN", async () => {
      const missing = { mediaType: layer0.mediaType, digest: sha256("missing"), size: 7 };
      await refuse({ ...image, layers: [layer0, missing] }, OCI, 400, "MANIFEST_BLOB_UNKNOWN");
      const config = { ...manifest.config, digest: sha256("no config") };
      await refuse({ ...image, config }, OCI, 400, "MANIFEST_BLOB_UNKNOWN");
      const docker = {
        schemaVersion: 2,
        mediaType: DOCKER,
        config: { ...manifest.config, mediaType: DOCKER_CONFIG },
        layers: [{ ...missing, mediaType: DOCKER_LAYER }],
      };
      await refuse(docker, DOCKER, 400, "MANIFEST_BLOB_UNKNOWN");
    });
    await t.step("a foreign layer with urls need not be in the registry", async () => {
      const foreign = {
        mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        digest: sha256("windows base"),
        size: 12,
        urls: ["https://example.com/base.tar.gz"],
      };
      const docker = {
        schemaVersion: 2,
        mediaType: DOCKER,
        config: { ...manifest.config, mediaType: DOCKER_CONFIG },
        layers: [foreign, { ...layer0, mediaType: DOCKER_LAYER }],
      };
      const res = await putManifest(reg.url, repo, "foreign", docker, DOCKER);
      assert.equal(res.status, 201, await res.text());
    });
    await t.step("an index with a missing or mis-sized child is refused", async () => {
      const childText = JSON.stringify(manifest);
      assert.equal((await putManifest(reg.url, repo, sha256(childText), childText)).status, 201);
      const size = enc.encode(childText).byteLength;
      const index = (digest: string, size: number) => ({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI, digest, size }],
      });
      await refuse(index(sha256("nothing"), 7), OCI_INDEX, 400, "MANIFEST_UNKNOWN");
      // A blob is not a manifest: the child must have been pushed as one.
      const blob = await pushBlob(reg.url, repo, '{"schemaVersion":2}');
      await refuse(index(blob.digest, blob.size), OCI_INDEX, 400, "MANIFEST_UNKNOWN");
      await refuse(index(sha256(childText), size + 1), OCI_INDEX, 400, "MANIFEST_INVALID");
      const ok = await putManifest(reg.url, repo, "idx", index(sha256(childText), size), OCI_INDEX);
      assert.equal(ok.status, 201, await ok.text());
    });
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: blobs and manifests of one repository are invisible to another", async () => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "iso/a", 1);
    assert.equal((await putManifest(reg.url, "iso/a", "v1", image.text)).status, 201);
    for (const digest of [image.manifest.config.digest, image.manifest.layers[0].digest]) {
      await assertError(await fetch(`${reg.url}/v2/iso/b/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    }
    await assertError(
      await putManifest(reg.url, "iso/b", "v1", image.text),
      400,
      "MANIFEST_BLOB_UNKNOWN",
    );
    await assertError(await call(reg, "iso/b", image.digest), 404, "MANIFEST_UNKNOWN");
    await assertError(await call(reg, "iso/b", "v1"), 404, "MANIFEST_UNKNOWN");
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI, digest: image.digest, size: image.size }],
    };
    await assertError(
      await putManifest(reg.url, "iso/b", "idx", index, OCI_INDEX),
      400,
      "MANIFEST_UNKNOWN",
    );
  } finally {
    await reg.close();
  }
});

/** An OCI index of exactly `size` bytes, padded with many annotations. */
function indexOfSize(size: number): string {
  const annotations: Record<string, string> = {};
  const doc = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], annotations };
  const value = "v".repeat(1000);
  // Each annotation adds at most 1030 bytes; the rest is one padding annotation.
  for (let i = 0; i < Math.floor((size - 4096) / 1030); i++) {
    annotations[`org.example.a${String(i).padStart(6, "0")}`] = value;
  }
  annotations.pad = "";
  annotations.pad = "p".repeat(size - JSON.stringify(doc).length);
  const text = JSON.stringify(doc);
  assert.equal(text.length, size);
  return text;
}

/** PUT with a body without Content-Length, so the limit must be enforced while reading. */
function putStreamed(reg: TestRegistry, repo: string, ref: string, text: string) {
  const bytes = enc.encode(text);
  const body = ReadableStream.from((function* () {
    for (let i = 0; i < bytes.length; i += 65536) yield bytes.slice(i, i + 65536);
  })());
  return call(reg, repo, ref, { method: "PUT", body, headers: { "Content-Type": OCI_INDEX } });
}

Deno.test("manifests: size limits", async (t) => {
  const limits: [string, number, Record<string, unknown>][] = [
    ["the 4 MiB default", 4 * MIB, {}],
    ["berth.manifests.maxbytes", 1024, { berth: { manifests: { maxbytes: 1024 } } }],
  ];
  for (const [name, limit, doc] of limits) {
    await t.step(`${name}: exactly ${limit} bytes is stored, one byte more is 413`, async () => {
      const reg = await startRegistry({ doc });
      try {
        const fits = indexOfSize(limit);
        const res = await putManifest(reg.url, "big/app", "fits", fits, OCI_INDEX);
        await assertCreated(res, "big/app", sha256(fits));
        await assertCreated(
          await putStreamed(reg, "big/app", "fits2", fits),
          "big/app",
          sha256(fits),
        );
        await assertServed(await call(reg, "big/app", "fits2"), fits, OCI_INDEX);
        const over = indexOfSize(limit + 1);
        const announced = await putManifest(reg.url, "big/app", "over", over, OCI_INDEX);
        await assertError(announced, 413, "MANIFEST_INVALID");
        await assertError(await putStreamed(reg, "big/app", "over", over), 413, "MANIFEST_INVALID");
        await assertError(await call(reg, "big/app", "over"), 404, "MANIFEST_UNKNOWN");
        await assertError(await call(reg, "big/app", sha256(over)), 404, "MANIFEST_UNKNOWN");
      } finally {
        await reg.close();
      }
    });
  }
});

Deno.test("manifests: names, tags and unknown references", async (t) => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "names/app", 1);
    await t.step("invalid repository names are NAME_INVALID", async () => {
      const names = ["Upper/app", "-lead", "trail-", "a___b", "a/.b", "a/b_", "a".repeat(256)];
      for (const name of names) {
        await assertError(await putManifest(reg.url, name, "v1", image.text), 400, "NAME_INVALID");
        await assertError(await call(reg, name, "v1"), 400, "NAME_INVALID");
      }
    });
    await t.step("invalid tags are TAG_INVALID, on the path and in ?tag=", async () => {
      for (const tag of ["-x", ".x", "x".repeat(129), "a+b", "a%20b", "caf%C3%A9"]) {
        await assertError(
          await putManifest(reg.url, "names/app", tag, image.text),
          400,
          "TAG_INVALID",
        );
      }
      const res = await fetch(`${manifestUrl(reg, "names/app", image.digest)}?tag=ok&tag=-bad`, {
        method: "PUT",
        body: image.text,
        headers: { "Content-Type": OCI },
      });
      await assertError(res, 400, "TAG_INVALID");
      await assertError(await call(reg, "names/app", "ok"), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("the longest valid tag and all its characters are accepted", async () => {
      for (const tag of ["_" + "a".repeat(127), "A-z.0_9", "1"]) {
        const res = await putManifest(reg.url, "names/app", tag, image.text);
        await assertCreated(res, "names/app", image.digest);
        assert.equal((await call(reg, "names/app", tag, { method: "HEAD" })).status, 200);
      }
    });
    await t.step("unknown tags and digests are 404 MANIFEST_UNKNOWN", async () => {
      for (const ref of ["nope", sha256("nope")]) {
        await assertError(await call(reg, "names/app", ref), 404, "MANIFEST_UNKNOWN");
        await assertError(await call(reg, "nothing/here", ref), 404, "MANIFEST_UNKNOWN");
        const head = await call(reg, "names/app", ref, { method: "HEAD" });
        assert.equal(head.status, 404);
        assert.equal((await head.bytes()).byteLength, 0);
        assert.equal(head.headers.get("docker-distribution-api-version"), "registry/2.0");
        await assertError(
          await call(reg, "names/app", ref, { method: "DELETE" }),
          404,
          "MANIFEST_UNKNOWN",
        );
      }
    });
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: Accept lists the types a client takes", async () => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "acc/app", 1);
    assert.equal((await putManifest(reg.url, "acc/app", "v1", image.text)).status, 201);
    for (const accept of [DOCKER, `${DOCKER}, ${DOCKER_LIST}`, OCI_INDEX]) {
      for (const ref of ["v1", image.digest]) {
        const headers = { Accept: accept };
        await assertError(await call(reg, "acc/app", ref, { headers }), 404, "MANIFEST_UNKNOWN");
        const head = await call(reg, "acc/app", ref, { method: "HEAD", headers });
        assert.equal(head.status, 404, accept);
        await head.body?.cancel();
      }
    }
    const accepted = [null, "*/*", OCI, `${DOCKER};q=0.9, ${OCI};q=0.5`, `${DOCKER}, */*;q=0.1`];
    for (const accept of accepted) {
      const headers: Record<string, string> = accept ? { Accept: accept } : {};
      await assertServed(await call(reg, "acc/app", "v1", { headers }), image.text, OCI);
    }
    const repeated = new Headers();
    repeated.append("Accept", DOCKER);
    repeated.append("Accept", OCI);
    await assertServed(await call(reg, "acc/app", "v1", { headers: repeated }), image.text, OCI);
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: every response carries the API version and a request id", async () => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "hdr/app", 1);
    const requests: [string, RequestInit][] = [
      [manifestUrl(reg, "hdr/app", "v1"), {
        method: "PUT",
        body: image.text,
        headers: { "Content-Type": OCI },
      }],
      [manifestUrl(reg, "hdr/app", "v1"), {}],
      [manifestUrl(reg, "hdr/app", "v1"), { method: "HEAD" }],
      [manifestUrl(reg, "hdr/app", "nope"), {}],
      [manifestUrl(reg, "hdr/app", "nope"), { method: "HEAD" }],
      [manifestUrl(reg, "hdr/app", "v1"), { method: "POST" }],
      [manifestUrl(reg, "Bad", "v1"), {}],
      [`${reg.url}/v2/hdr/app/nothing-here`, {}],
    ];
    const seen = new Set<string>();
    for (const [url, init] of requests) {
      const res = await fetch(url, init);
      await res.body?.cancel();
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0", url);
      const id = res.headers.get("x-request-id");
      assert.ok(id, `${init.method ?? "GET"} ${url} has no X-Request-Id`);
      seen.add(id);
      const echoed = await fetch(url, {
        ...init,
        headers: { ...init.headers, "X-Request-Id": "client-id-42" },
      });
      await echoed.body?.cancel();
      assert.equal(echoed.headers.get("x-request-id"), "client-id-42");
    }
    assert.equal(seen.size, requests.length, "generated request ids are unique");
    for (const hostile of ["a b<script>", "x".repeat(500)]) {
      const res = await call(reg, "hdr/app", "v1", { headers: { "X-Request-Id": hostile } });
      await res.body?.cancel();
      assert.notEqual(res.headers.get("x-request-id"), hostile);
      assert.ok(res.headers.get("x-request-id"));
    }
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: with deletion switched off, DELETE is 405 UNSUPPORTED", async () => {
  const reg = await startRegistry({ doc: { storage: { delete: { enabled: false } } } });
  try {
    const image = await pushImage(reg.url, "nd/app", 1);
    assert.equal((await putManifest(reg.url, "nd/app", "v1", image.text)).status, 201);
    for (const ref of ["v1", image.digest]) {
      await assertError(await call(reg, "nd/app", ref, { method: "DELETE" }), 405, "UNSUPPORTED");
    }
    const layer = image.manifest.layers[0].digest;
    const blobUrl = `${reg.url}/v2/nd/app/blobs/${layer}`;
    await assertError(await fetch(blobUrl, { method: "DELETE" }), 405, "UNSUPPORTED");
    await assertServed(await call(reg, "nd/app", "v1"), image.text, OCI);
    assert.equal((await fetch(blobUrl, { method: "HEAD" })).status, 200);
  } finally {
    await reg.close();
  }
});

Deno.test("manifests: a malformed digest reference is DIGEST_INVALID, not TAG_INVALID", async () => {
  const reg = await startRegistry();
  try {
    const bad = ["sha256:short", `sha384:${"a".repeat(96)}`, `sha256:${"A".repeat(64)}`, "x:y"];
    for (const ref of bad) {
      for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
        const res = await fetch(`${reg.url}/v2/d/app/manifests/${ref}`, {
          method,
          body: method === "PUT" ? "{}" : undefined,
        });
        if (method === "HEAD") {
          assert.equal(res.status, 400, `${method} ${ref}`);
          await res.body?.cancel();
        } else {
          await assertError(res, 400, "DIGEST_INVALID");
        }
      }
    }
  } finally {
    await reg.close();
  }
});
