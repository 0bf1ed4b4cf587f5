/**
 * @module
 * Writes a single-image OCI image layout (what skopeo reads as `oci:<dir>:<tag>`) with
 * gzipped one-file tar layers of random content, one layer in memory at a time.
 */
import { gzipSync } from "node:zlib";
import { sha256 } from "./data.ts";

const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const CONFIG = "application/vnd.oci.image.config.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** The 512-byte ustar header of a regular file `name` of `size` bytes. */
function tarHeader(name: string, size: number): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(name, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(1_700_000_000, 12), 136);
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  put(octal(header.reduce((a, b) => a + b, 0), 7) + " ", 148);
  return header;
}

/**
 * Writes a one-file tar of `size` random bytes, gzipped, as a blob of the layout; returns
 * its descriptor and the uncompressed digest (the config's `diff_id`). Gzip at level 0
 * (stored blocks): random bytes do not compress anyway, and the image builds at memory
 * speed. Layers must be compressed: skopeo gzips uncompressed layers itself on the way to
 * a registry, and that would put its compression time into both registries' figures.
 */
async function writeLayer(
  blobs: string,
  index: number,
  size: number,
): Promise<{ layer: Descriptor; diffId: string }> {
  const padded = Math.ceil(size / 512) * 512;
  // The header, the content padded to 512 bytes, and the two zero blocks that end a tar.
  const tar = new Uint8Array(512 + padded + 1024);
  tar.set(tarHeader(`layer${index}.bin`, size), 0);
  const content = tar.subarray(512, 512 + size);
  // getRandomValues fills at most 64 KiB per call.
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(content.subarray(i, i + 65536));
  const gz = gzipSync(tar, { level: 0 });
  const digest = sha256(gz);
  await Deno.writeFile(`${blobs}/${digest.slice(7)}`, gz);
  return { layer: { mediaType: LAYER, digest, size: gz.byteLength }, diffId: sha256(tar) };
}

async function writeJson(blobs: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const digest = sha256(bytes);
  await Deno.writeFile(`${blobs}/${digest.slice(7)}`, bytes);
  return { mediaType, digest, size: bytes.byteLength };
}

/**
 * Creates `dir` as an OCI layout holding one linux/amd64 image of `layers` random layers
 * of `layerSize` bytes each, tagged `tag`; returns the image manifest's descriptor.
 */
export async function writeImageLayout(
  dir: string,
  tag: string,
  layers: number,
  layerSize: number,
): Promise<Descriptor> {
  const blobs = `${dir}/blobs/sha256`;
  await Deno.mkdir(blobs, { recursive: true });
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  const written: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < layers; i++) {
    const { layer, diffId } = await writeLayer(blobs, i, layerSize);
    written.push(layer);
    diffIds.push(diffId);
  }
  const config = await writeJson(blobs, CONFIG, {
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/bin"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: written.map((_, i) => ({ created_by: `bench layer ${i}` })),
  });
  const manifest = await writeJson(blobs, MANIFEST, {
    schemaVersion: 2,
    mediaType: MANIFEST,
    config,
    layers: written,
  });
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
  return manifest;
}
