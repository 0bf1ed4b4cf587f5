/**
 * @module
 * Small-request rates at 32 connections: the version check, manifest HEAD and GET by tag,
 * the tags list and a blob HEAD, on a small image seeded into both registries through the
 * HTTP API first.
 */
import { rate } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { sha256 } from "../data.ts";
import type { Server } from "../servers.ts";

export const REPO = "bench/small";
export const TAG = "latest";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const ACCEPT = [
  OCI_MANIFEST,
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

async function expect(res: Response, status: number, what: string): Promise<Response> {
  if (res.status !== status) {
    throw new Error(`${what} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  }
  await res.body?.cancel();
  return res;
}

/** `POST` + `PUT ?digest=` (distribution 2.8.2 has no single-`POST` upload). */
async function pushBytes(s: Server, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const post = await expect(
    await fetch(`${s.url}/v2/${REPO}/blobs/uploads/`, { method: "POST" }),
    202,
    "POST upload",
  );
  const location = new URL(post.headers.get("location") ?? "", s.url);
  location.searchParams.set("digest", digest);
  await expect(
    await fetch(location, {
      method: "PUT",
      body: bytes as BodyInit,
      headers: { "Content-Type": "application/octet-stream" },
    }),
    201,
    "PUT blob",
  );
  return digest;
}

/** Seeds a one-layer image tagged `latest`; returns the layer's digest. */
export async function seed(s: Server): Promise<string> {
  const layer = crypto.getRandomValues(new Uint8Array(65536));
  const layerBytes = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += layer.byteLength) layerBytes.set(layer, i);
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
  const layerDigest = await pushBytes(s, layerBytes);
  const configDigest = await pushBytes(s, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: configDigest,
      size: config.byteLength,
    },
    layers: [{
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: layerDigest,
      size: layerBytes.byteLength,
    }],
  });
  await expect(
    await fetch(`${s.url}/v2/${REPO}/manifests/${TAG}`, {
      method: "PUT",
      body: manifest,
      headers: { "Content-Type": OCI_MANIFEST },
    }),
    201,
    "PUT manifest",
  );
  return layerDigest;
}

/** Measures every request kind on every server that could be seeded. */
export async function rateScenario(ctx: Context): Promise<void> {
  const blobs = new Map<Server, string>();
  const failed = new Map<Server, Error>();
  for (const s of ctx.servers) {
    try {
      blobs.set(s, await seed(s));
    } catch (err) {
      failed.set(s, new Error(`seeding the image failed: ${(err as Error).message}`));
    }
  }
  const cases: [string, "GET" | "HEAD", (s: Server) => string, string?][] = [
    ["GET /v2/", "GET", (s) => `${s.url}/v2/`],
    ["HEAD manifest by tag", "HEAD", (s) => `${s.url}/v2/${REPO}/manifests/${TAG}`, ACCEPT],
    ["GET manifest by tag", "GET", (s) => `${s.url}/v2/${REPO}/manifests/${TAG}`, ACCEPT],
    ["GET tags list", "GET", (s) => `${s.url}/v2/${REPO}/tags/list`],
    ["HEAD blob", "HEAD", (s) => `${s.url}/v2/${REPO}/blobs/${blobs.get(s)}`],
  ];
  for (const [name, method, url, accept] of cases) {
    await ctx.report.compare(
      ctx.servers,
      `${name} (32 conns, ${method === "GET" ? "wrk" : "hey"})`,
      "req/s",
      true,
      { ratioAtLeast: 3 },
      ctx.sizes.repeats,
      (s) => {
        const err = name === "GET /v2/" ? undefined : failed.get(s);
        return err ? Promise.reject(err) : rate(url(s), method, ctx.sizes.rateSeconds, accept);
      },
    );
  }
}
