/**
 * @module
 * Builds real container images on disk as OCI image layouts (the directory `skopeo` and
 * `podman` read as `oci:<dir>:<tag>`): gzip-compressed ustar layers, an image config whose
 * `rootfs.diff_ids` are the digests of the uncompressed tars, manifests, multi-platform
 * indexes and an `index.json` naming them. Docker schema 2 images are written into the
 * same layout; {@linkcode Layout.exportDir} hands them to skopeo as a `dir:` directory.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";

/** Media types of the two single-platform image formats. */
export const FORMATS = {
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

/** The media type of an OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** A descriptor of a blob written into the layout. */
export interface Written {
  mediaType: string;
  digest: string;
  size: number;
}

/** Options of {@linkcode Layout.image}. */
export interface ImageOptions {
  /** `oci` (default) or `docker` (schema 2 media types). */
  format?: "oci" | "docker";
  /** `amd64` by default. */
  architecture?: string;
}

const encoder = new TextEncoder();

function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

function random(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** One entry of a tar archive: a directory (no content) or a regular file. */
interface TarEntry {
  name: string;
  content?: Uint8Array;
}

/** A 512-byte ustar header (POSIX.1-1988) for `entry`. */
function tarHeader(entry: TarEntry): Uint8Array {
  const header = new Uint8Array(512);
  const put = (text: string, at: number, len: number) =>
    header.set(encoder.encode(text).subarray(0, len), at);
  // Numeric fields are zero-padded octal ending in NUL.
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  const isDir = entry.content === undefined;
  put(entry.name, 0, 100);
  put(octal(isDir ? 0o755 : 0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8); // uid
  put(octal(0, 8), 116, 8); // gid
  put(octal(entry.content?.byteLength ?? 0, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12); // a fixed mtime: same content, same diff_id
  header[156] = (isDir ? "5" : "0").charCodeAt(0);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put("root", 265, 32);
  put("root", 297, 32);
  // The checksum is computed with its own field read as eight spaces.
  put("        ", 148, 8);
  const sum = header.reduce((a, b) => a + b, 0);
  put(octal(sum, 7) + " ", 148, 8);
  return header;
}

/** A ustar archive of `entries`, closed by the two zero blocks tar expects. */
function tar(entries: TarEntry[]): Uint8Array {
  const size = entries.reduce(
    (n, e) => n + 512 + Math.ceil((e.content?.byteLength ?? 0) / 512) * 512,
    1024,
  );
  const out = new Uint8Array(size);
  let at = 0;
  for (const entry of entries) {
    out.set(tarHeader(entry), at);
    at += 512;
    if (entry.content) {
      out.set(entry.content, at);
      at += Math.ceil(entry.content.byteLength / 512) * 512;
    }
  }
  return out;
}

/** An OCI image layout under construction, in its own temp directory. */
export class Layout {
  readonly #refs: { descriptor: Written; ref: string }[] = [];

  private constructor(readonly dir: string) {}

  /** Creates an empty layout in a new temp directory. */
  static async create(): Promise<Layout> {
    const dir = await Deno.makeTempDir({ prefix: "berth-image-" });
    await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
    await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    await Deno.writeTextFile(`${dir}/index.json`, '{"schemaVersion":2,"manifests":[]}');
    return new Layout(dir);
  }

  /** The file holding blob `digest`. */
  path(digest: string): string {
    return `${this.dir}/blobs/sha256/${digest.replace(/^sha256:/, "")}`;
  }

  /** Reads blob `digest` of the layout. */
  read(digest: string): Promise<Uint8Array> {
    return Deno.readFile(this.path(digest));
  }

  /** Stores bytes (or a JSON document) as a blob of the layout. */
  async blob(content: Uint8Array | object, mediaType: string): Promise<Written> {
    const bytes = content instanceof Uint8Array ? content : encoder.encode(JSON.stringify(content));
    const digest = sha256(bytes);
    await Deno.writeFile(this.path(digest), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /**
   * A single-platform image with one layer per entry of `layerSizes`, each a gzipped tar
   * holding a directory and a file of that many random bytes. Returns the manifest.
   */
  async image(layerSizes: number[], options: ImageOptions = {}): Promise<Written> {
    const types = FORMATS[options.format ?? "oci"];
    const layers: Written[] = [];
    const diffIds: string[] = [];
    for (const [i, size] of layerSizes.entries()) {
      const archive = tar([
        { name: `layer${i}/` },
        { name: `layer${i}/data.bin`, content: random(size) },
      ]);
      diffIds.push(sha256(archive));
      layers.push(await this.blob(gzipSync(archive, { level: 1 }), types.layer));
    }
    const created = "2024-01-01T00:00:00Z";
    const config = await this.blob({
      created,
      architecture: options.architecture ?? "amd64",
      os: "linux",
      config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created, created_by: `/bin/sh -c #(nop) ADD layer${i}` })),
    }, types.config);
    return await this.blob(
      { schemaVersion: 2, mediaType: types.manifest, config, layers },
      types.manifest,
    );
  }

  /** A multi-platform OCI index over linux/amd64 and linux/arm64 images. */
  async index(layerSizes: number[]): Promise<{ index: Written; children: Written[] }> {
    const architectures = ["amd64", "arm64"];
    const children: Written[] = [];
    for (const architecture of architectures) {
      children.push(await this.image(layerSizes, { architecture }));
    }
    const index = await this.blob({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((child, i) => ({
        ...child,
        platform: { os: "linux", architecture: architectures[i] },
      })),
    }, OCI_INDEX);
    return { index, children };
  }

  /**
   * Every blob a manifest or index reaches, itself included (children, configs, layers),
   * read from the layout.
   */
  async closure(digest: string): Promise<string[]> {
    const doc = JSON.parse(new TextDecoder().decode(await this.read(digest)));
    const out = new Set([digest]);
    for (const child of doc.manifests ?? []) {
      for (const d of await this.closure(child.digest)) out.add(d);
    }
    for (const d of [doc.config, ...doc.layers ?? []]) if (d) out.add(d.digest);
    return [...out].sort();
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
   * Writes the image `manifest` in skopeo's `dir:` format and returns the directory.
   * skopeo 1.9's `oci:` transport only finds OCI media types in `index.json`, so Docker
   * schema 2 images travel as `dir:`, which keeps the manifest bytes as they are.
   */
  async exportDir(manifest: Written): Promise<string> {
    const dir = `${this.dir}-dir-${manifest.digest.slice(7, 19)}`;
    await Deno.mkdir(dir, { recursive: true });
    const parsed = JSON.parse(new TextDecoder().decode(await this.read(manifest.digest)));
    await Deno.copyFile(this.path(manifest.digest), `${dir}/manifest.json`);
    for (const d of [parsed.config, ...parsed.layers]) {
      await Deno.copyFile(this.path(d.digest), `${dir}/${d.digest.slice(7)}`);
    }
    await Deno.writeTextFile(`${dir}/version`, "Directory Transport Version: 1.1\n");
    return dir;
  }

  /** Removes the layout and any directory {@linkcode Layout.exportDir} wrote. */
  async remove(): Promise<void> {
    const parent = this.dir.slice(0, this.dir.lastIndexOf("/"));
    const base = this.dir.slice(this.dir.lastIndexOf("/") + 1);
    for await (const e of Deno.readDir(parent)) {
      if (e.name.startsWith(`${base}-dir-`)) {
        await Deno.remove(`${parent}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** The blob digests an OCI layout directory holds, sorted. */
export async function layoutBlobs(dir: string): Promise<string[]> {
  const names = await Array.fromAsync(Deno.readDir(`${dir}/blobs/sha256`));
  return names.map((e) => `sha256:${e.name}`).sort();
}
