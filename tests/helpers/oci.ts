/**
 * @module
 * Small helpers for end-to-end tests: digests, random blobs, and pushes over HTTP.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

/** `sha256:<hex>` of `bytes`. */
export function sha256(bytes: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** `size` random bytes. */
export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Reads a response body and parses it as JSON (an OCI error body on failures). */
export async function body(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

/** Asserts an OCI error response: status, JSON body, and the error code. */
export async function assertError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${text}`);
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  if (res.headers.get("content-length") === "0" || text === "") {
    assert.fail(`error ${code} has no body`);
  }
  const parsed = JSON.parse(text);
  assert.equal(parsed.errors?.[0]?.code, code, text);
  assert.equal(typeof parsed.errors[0].message, "string");
}

/** Pushes `bytes` as a blob of `repo` with one monolithic POST; returns the digest. */
export async function pushBlob(base: string, repo: string, bytes: Uint8Array | string) {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = sha256(data);
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: data as BodyInit,
    headers: { "Content-Type": "application/octet-stream" },
  });
  assert.equal(res.status, 201, await res.text());
  return { digest, size: data.byteLength };
}

/** Pushes a manifest document under `reference`; returns the response. */
export function putManifest(
  base: string,
  repo: string,
  reference: string,
  manifest: unknown,
  mediaType = "application/vnd.oci.image.manifest.v1+json",
): Promise<Response> {
  const text = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
  return fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    body: text,
    headers: { "Content-Type": mediaType },
  });
}

/** Pushes a config and `layers` random layers and returns an OCI image manifest for them. */
export async function pushImage(base: string, repo: string, layers = 2, extra: object = {}) {
  const config = await pushBlob(
    base,
    repo,
    JSON.stringify({ architecture: "amd64", os: "linux", n: Math.random() }),
  );
  const layerDescs = [];
  for (let i = 0; i < layers; i++) {
    const layer = await pushBlob(base, repo, randomBytes(1024 + i));
    layerDescs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layerDescs,
    ...extra,
  };
  const text = JSON.stringify(manifest);
  return { manifest, text, digest: sha256(text), size: new TextEncoder().encode(text).byteLength };
}
