/**
 * @module
 * Builds real container images on disk as OCI image layouts (the directory `skopeo`
 * reads as `oci:<dir>:<tag>`): gzip-compressed tar layers, an image config whose
 * `diff_ids` are the uncompressed layer digests, manifests and an `index.json`.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** Media types of the two image formats. */
const FORMATS = {
  oci: {
    manifest: "application/vnd.oci.image.manifest.v1+json",
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  },
  docker: {
    manifest: "application/vnd.docker.distribution.manifest.v2+json",
    config: "application/vnd.docker.container.image.v1+json",
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  },
} as const;

/** A descriptor written into the layout. */
export interface Written {
  mediaType: string;
  digest: string;
  size: number;
}

function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

function random(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** A one-file ustar archive. */
function tar(name: string, content: Uint8Array): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, at: number, len: number) =>
    header.set(new TextEncoder().encode(text).subarray(0, len), at);
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.byteLength, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put("        ", 148, 8);
  header[156] = "0".charCodeAt(0);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  const sum = header.reduce((a, b) => a + b, 0);
  put(octal(sum, 7) + " ", 148, 8);
  const padded = Math.ceil(content.byteLength / 512) * 512;
  const out = new Uint8Array(512 + padded + 1024);
  out.set(header, 0);
  out.set(content, 512);
  return out;
}

/** An OCI image layout under construction. */
export class Layout {
  readonly #refs: { descriptor: Written; ref: string }[] = [];

  private constructor(readonly dir: string) {}

  /** Creates an empty layout in a new temp directory. */
  static async create(): Promise<Layout> {
    const dir = await Deno.makeTempDir({ prefix: "berth-image-" });
    await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
    await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    return new Layout(dir);
  }

  /** Stores bytes as a blob of the layout. */
  async blob(bytes: Uint8Array, mediaType: string): Promise<Written> {
    const digest = sha256(bytes);
    await Deno.writeFile(`${this.dir}/blobs/sha256/${digest.slice(7)}`, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** A single-platform image with layers of the given sizes (random content). */
  async image(
    layerSizes: number[],
    options: { format?: "oci" | "docker"; architecture?: string } = {},
  ): Promise<Written> {
    const types = FORMATS[options.format ?? "oci"];
    const layers: Written[] = [];
    const diffIds: string[] = [];
    for (const [i, size] of layerSizes.entries()) {
      const archive = tar(`layer${i}.bin`, random(size));
      diffIds.push(sha256(archive));
      layers.push(await this.blob(gzipSync(archive, { level: 1 }), types.layer));
    }
    const config = await this.blob(
      new TextEncoder().encode(JSON.stringify({
        architecture: options.architecture ?? "amd64",
        os: "linux",
        config: { Env: ["PATH=/usr/bin"] },
        rootfs: { type: "layers", diff_ids: diffIds },
        history: diffIds.map((_, i) => ({ created_by: `layer ${i}` })),
      })),
      types.config,
    );
    const manifest = { schemaVersion: 2, mediaType: types.manifest, config, layers };
    return await this.blob(new TextEncoder().encode(JSON.stringify(manifest)), types.manifest);
  }

  /** A multi-platform OCI index over linux/amd64 and linux/arm64 images. */
  async index(layerSizes: number[]): Promise<{ index: Written; children: Written[] }> {
    const children = [];
    for (const architecture of ["amd64", "arm64"]) {
      children.push(await this.image(layerSizes, { architecture }));
    }
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: children.map((c, i) => ({
        ...c,
        platform: { os: "linux", architecture: i === 0 ? "amd64" : "arm64" },
      })),
    };
    const written = await this.blob(
      new TextEncoder().encode(JSON.stringify(index)),
      "application/vnd.oci.image.index.v1+json",
    );
    return { index: written, children };
  }

  /** Names `descriptor` as `ref` in `index.json` (what `oci:<dir>:<ref>` reads). */
  async tag(descriptor: Written, ref: string): Promise<void> {
    this.#refs.push({ descriptor, ref });
    const index = {
      schemaVersion: 2,
      manifests: this.#refs.map(({ descriptor, ref }) => ({
        ...descriptor,
        annotations: { "org.opencontainers.image.ref.name": ref },
      })),
    };
    await Deno.writeTextFile(`${this.dir}/index.json`, JSON.stringify(index));
  }

  /**
   * Writes the image `manifest` in skopeo's `dir:` format (skopeo's `oci:` transport only
   * reads OCI media types, so Docker images travel as `dir:`); returns the directory.
   */
  async exportDir(manifest: Written): Promise<string> {
    const dir = `${this.dir}-dir-${manifest.digest.slice(7, 19)}`;
    await Deno.mkdir(dir, { recursive: true });
    const blob = (digest: string) => `${this.dir}/blobs/sha256/${digest.slice(7)}`;
    const parsed = JSON.parse(await Deno.readTextFile(blob(manifest.digest)));
    await Deno.copyFile(blob(manifest.digest), `${dir}/manifest.json`);
    for (const d of [parsed.config, ...parsed.layers]) {
      await Deno.copyFile(blob(d.digest), `${dir}/${d.digest.slice(7)}`);
    }
    await Deno.writeTextFile(`${dir}/version`, "Directory Transport Version: 1.1\n");
    return dir;
  }

  /** Removes the layout. */
  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** The blob digests a layout directory holds. */
export async function layoutBlobs(dir: string): Promise<string[]> {
  const names = await Array.fromAsync(Deno.readDir(`${dir}/blobs/sha256`));
  return names.map((e) => `sha256:${e.name}`).sort();
}
