/**
 * @module
 * Reading manifests and image configs for display, through the repository facade and
 * without recording pulls (`quiet`): what kind of manifest it is (index, image, artifact),
 * its children, config, layers, annotations and subject, the image config's settings and
 * history, and what a tag row shows (type, platforms, size). Manifests never change under
 * a digest, so that brief of each is remembered (a bounded map) once worked out.
 */
import { tryParseDigest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifests/types.ts";
import { INDEX_TYPES } from "../oci/media_types.ts";
import type { ManifestContent, Repository } from "../registry/repository.ts";
import { platformName } from "./format.ts";

/** Image configs larger than this are not read for display. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Manifests whose brief is remembered. */
const MAX_REMEMBERED = 20_000;

const IMAGE_CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
]);

/** What a manifest is, for display. */
export interface ManifestView {
  kind: "index" | "image" | "artifact";
  content: ManifestContent;
  /** The manifest pretty-printed. */
  pretty: string;
  /** An index's entries. */
  children: Descriptor[];
  config: Descriptor | null;
  layers: Descriptor[];
  artifactType: string | null;
  annotations: Record<string, string>;
  subject: Descriptor | null;
}

/** The settings of an image config worth showing. */
export interface ImageConfigView {
  platform: string;
  created: string | null;
  author: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  user: string | null;
  env: string[];
  exposedPorts: string[];
  labels: Record<string, string>;
  history: { created: string | null; createdBy: string; comment: string; empty: boolean }[];
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => typeof v === "string" && v !== "" ? v : null;
const strings = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === "string") ? v as string[] : null;

function descriptor(v: unknown): Descriptor | null {
  if (!isObject(v) || typeof v.digest !== "string" || typeof v.mediaType !== "string") return null;
  return v as unknown as Descriptor;
}

function descriptors(v: unknown): Descriptor[] {
  return Array.isArray(v) ? v.map(descriptor).filter((d): d is Descriptor => d !== null) : [];
}

function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "string")) as Record<
    string,
    string
  >;
}

/** An index entry that is not a platform image (buildx attestations say unknown/unknown). */
export function isAttestationEntry(d: Descriptor): boolean {
  return d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest" ||
    (d.platform?.os === "unknown" && d.platform?.architecture === "unknown");
}

/** Reads manifests and configs for pages. */
export class Inspector {
  readonly #briefs = new Map<string, Brief>();

  /** The manifest `reference` (tag or digest) of `repo`; `MANIFEST_UNKNOWN` when absent. */
  async manifest(repo: Repository, reference: string): Promise<ManifestView> {
    const content = await repo.manifests.get(reference, { quiet: true });
    return view(content);
  }

  /** The image config `config` of `repo`, or null when it is not an image config or is gone. */
  async config(repo: Repository, config: Descriptor | null): Promise<ImageConfigView | null> {
    if (!config || !IMAGE_CONFIGS.has(config.mediaType) || config.size > MAX_CONFIG_BYTES) {
      return null;
    }
    const digest = tryParseDigest(config.digest);
    if (!digest) return null;
    const blob = await repo.blobs.stat(digest, { verify: false });
    if (!blob) return null;
    let doc: unknown;
    try {
      const stream = await repo.blobs.open(blob, undefined, { quiet: true });
      doc = JSON.parse(await new Response(stream).text());
    } catch {
      return null; // bytes gone or not JSON: the page says the config is unavailable
    }
    return isObject(doc) ? configView(doc) : null;
  }

  /**
   * What a tag row shows of a manifest, remembered: its media type, the platforms (an
   * index's entries, an image's config) and the bytes it pulls (an image's config and
   * layers; for an index, those of its platform images).
   */
  async brief(repo: Repository, digest: string): Promise<Brief> {
    const known = this.#briefs.get(digest);
    if (known) return known;
    const v = await this.manifest(repo, digest);
    const out: Brief = {
      mediaType: v.content.mediaType,
      artifactType: v.artifactType,
      platforms: [],
      size: pullSize(v),
    };
    if (v.kind === "index") {
      const images = v.children.filter((c) => !isAttestationEntry(c));
      out.platforms = [...new Set(images.map((c) => platformName(c.platform)).filter(Boolean))];
      const sizes = await Promise.all(
        images.map((c) => this.manifest(repo, c.digest).then(pullSize, () => 0)),
      );
      out.size = sizes.reduce((a, b) => a + b, 0);
    } else if (v.kind === "image") {
      const config = await this.config(repo, v.config);
      if (config === null) return out; // not remembered: the config may come back
      if (config.platform) out.platforms = [config.platform];
    }
    if (this.#briefs.size >= MAX_REMEMBERED) this.#briefs.delete(this.#briefs.keys().next().value!);
    this.#briefs.set(digest, out);
    return out;
  }
}

/** What a tag row shows of a manifest. */
export interface Brief {
  mediaType: string;
  artifactType: string | null;
  platforms: string[];
  /** Bytes a pull fetches besides manifests (config and layers), as pushed. */
  size: number;
}

/** Config and layer bytes of a manifest (0 for an index). */
export function pullSize(v: ManifestView): number {
  if (v.kind === "index") return 0;
  return (v.config?.size ?? 0) + v.layers.reduce((n, l) => n + (l.size ?? 0), 0);
}

/** The display view of stored manifest bytes. */
export function view(content: ManifestContent): ManifestView {
  const text = new TextDecoder().decode(content.bytes);
  let doc: Doc = {};
  let pretty = text;
  try {
    const parsed = JSON.parse(text);
    if (isObject(parsed)) doc = parsed;
    pretty = JSON.stringify(parsed, null, 2);
  } catch {
    // Stored manifests were valid JSON when pushed; show the bytes as they are otherwise.
  }
  const config = descriptor(doc.config);
  const artifactType = str(doc.artifactType) ??
    (config && !IMAGE_CONFIGS.has(config.mediaType) ? config.mediaType : null);
  const kind = INDEX_TYPES.has(content.mediaType)
    ? "index"
    : artifactType !== null || !config
    ? "artifact"
    : "image";
  return {
    kind,
    content,
    pretty,
    children: descriptors(doc.manifests),
    config,
    layers: descriptors(doc.layers ?? doc.blobs),
    artifactType: INDEX_TYPES.has(content.mediaType) ? str(doc.artifactType) : artifactType,
    annotations: stringMap(doc.annotations),
    subject: descriptor(doc.subject),
  };
}

/** The settings of a parsed image config. */
export function configView(doc: Doc): ImageConfigView {
  const c = isObject(doc.config) ? doc.config : {};
  const history = Array.isArray(doc.history) ? doc.history.filter(isObject) : [];
  return {
    platform: platformName({
      os: doc.os,
      architecture: doc.architecture,
      variant: doc.variant,
      "os.version": doc["os.version"],
    }),
    created: str(doc.created),
    author: str(doc.author),
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    workingDir: str(c.WorkingDir),
    user: str(c.User),
    env: strings(c.Env) ?? [],
    exposedPorts: isObject(c.ExposedPorts) ? Object.keys(c.ExposedPorts) : [],
    labels: stringMap(c.Labels),
    history: history.map((h) => ({
      created: str(h.created),
      createdBy: str(h.created_by) ?? "",
      comment: str(h.comment) ?? "",
      empty: h.empty_layer === true,
    })),
  };
}
