/**
 * @module
 * A schema 1 payload built from a schema 2 (or OCI) image: its image configuration and
 * layer digests, by distribution's rules for old clients. History entries become
 * `fsLayers` and `history` in reverse order, newest first; an entry marked `empty_layer`
 * points at the gzipped empty tar; each `v1Compatibility` carries a v1 image id derived
 * from the layer digest and its parent's id, and the newest one is the image
 * configuration itself (without `rootfs` and `history`). The same image, name and tag
 * always give the same payload, hence the same digest.
 */
import { createHash } from "node:crypto";
import { RegistryError } from "../errors.ts";

/** A gzip-compressed empty tar (1024 zero bytes), the layer of `empty_layer` entries. */
export const EMPTY_LAYER = new Uint8Array([
  31,
  139,
  8,
  0,
  0,
  9,
  110,
  136,
  0,
  255,
  98,
  24,
  5,
  163,
  96,
  20,
  140,
  88,
  0,
  8,
  0,
  0,
  255,
  255,
  46,
  175,
  181,
  239,
  0,
  4,
  0,
  0,
]);
/** Digest of {@linkcode EMPTY_LAYER}. */
export const EMPTY_LAYER_DIGEST =
  "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";

/** What a payload is built from. */
export interface ImageSource {
  /** Repository name, written as the manifest's `name`. */
  name: string;
  tag: string;
  /** The image configuration, as stored. */
  config: Uint8Array;
  /** Digests of the image's layers, base first. */
  layers: readonly string[];
}

/** The built payload, and whether it references {@linkcode EMPTY_LAYER}. */
export interface BuiltPayload {
  payload: Uint8Array;
  usesEmptyLayer: boolean;
}

interface HistoryEntry {
  created?: unknown;
  created_by?: unknown;
  author?: unknown;
  comment?: unknown;
  empty_layer?: unknown;
}

/** Why an image cannot be served as schema 1 (answered as an unknown manifest). */
function unconvertible(why: string): RegistryError {
  return new RegistryError(
    "MANIFEST_UNKNOWN",
    `The image cannot be served as Docker schema 1: ${why}; ask for schema 2 or OCI`,
  );
}

const hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** Go's `encoding/json` escapes these in strings; kept so the payload reads like Go's. */
function goJson(value: unknown, indent?: string): string {
  return JSON.stringify(value, null, indent).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The entries of an object with its keys sorted, as Go writes a map. */
function sortedObject(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]));
}

/** Builds the schema 1 payload of an image; `MANIFEST_UNKNOWN` when it has no such form. */
export function buildSchema1(source: ImageSource): BuiltPayload {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(source.config));
  } catch {
    throw unconvertible("its configuration is not JSON");
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw unconvertible("its configuration is not a JSON object");
  }
  const rootfs = (config.rootfs ?? {}) as { diff_ids?: unknown; base_layer?: unknown };
  const rawHistory = Array.isArray(config.history) ? config.history as HistoryEntry[] : [];
  // Images built without history (some builders write none) get one entry per layer.
  const history: HistoryEntry[] = rawHistory.length > 0
    ? rawHistory
    : source.layers.map(() => ({}));
  if (history.length === 0) throw unconvertible("it has neither layers nor history");
  const nonEmpty = history.filter((h) => h.empty_layer !== true).length;
  if (nonEmpty !== source.layers.length) {
    throw unconvertible(
      `its history names ${nonEmpty} layers, its manifest ${source.layers.length}`,
    );
  }
  const text = (v: unknown) => typeof v === "string" ? v : undefined;
  const fsLayers: { blobSum: string }[] = [];
  const v1: string[] = [];
  let parent = "";
  let layer = 0;
  let usesEmptyLayer = false;
  history.forEach((h, i) => {
    const empty = h.empty_layer === true;
    usesEmptyLayer ||= empty;
    const blobSum = empty ? EMPTY_LAYER_DIGEST : source.layers[layer++];
    const top = i === history.length - 1;
    const encoded = blobSum.slice(blobSum.indexOf(":") + 1);
    const id = top
      ? createHash("sha256").update(`${encoded} ${parent} `).update(source.config).digest("hex")
      : hex(`${encoded} ${parent}`);
    if (!top && i === 0 && typeof rootfs.base_layer === "string" && rootfs.base_layer !== "") {
      // Windows images: the base layer is the parent of the first.
      parent = createHash("sha384").update(rootfs.base_layer).digest("hex").slice(0, 64);
    }
    let entry: Record<string, unknown>;
    if (top) {
      const { rootfs: _r, history: _h, ...rest } = config;
      entry = { ...rest, id };
      if (parent) entry.parent = parent;
      if (empty) entry.throwaway = true;
      entry = sortedObject(entry);
    } else {
      entry = { id };
      if (parent) entry.parent = parent;
      if (text(h.comment)) entry.comment = h.comment;
      entry.created = text(h.created) ?? "0001-01-01T00:00:00Z";
      entry.container_config = { Cmd: [text(h.created_by) ?? ""] };
      if (text(h.author)) entry.author = h.author;
      if (empty) entry.throwaway = true;
    }
    fsLayers.unshift({ blobSum });
    v1.unshift(goJson(entry));
    parent = id;
  });
  const manifest = {
    schemaVersion: 1,
    name: source.name,
    tag: source.tag,
    architecture: typeof config.architecture === "string" ? config.architecture : "",
    fsLayers,
    history: v1.map((v1Compatibility) => ({ v1Compatibility })),
  };
  return { payload: new TextEncoder().encode(goJson(manifest, "   ")), usesEmptyLayer };
}
