/**
 * @module
 * The manifest formats Berth stores and serves, one module each (`oci.ts`, `docker.ts`,
 * `schema1.ts`), and the questions the registry asks about any manifest: what is this
 * (media type, validity, references, the bytes its digest covers), may it be served to a
 * client with this `Accept`, and what is served for it. A new format is one more module
 * added to {@linkcode FORMATS}.
 *
 * Which formats a registry accepts on push is a {@linkcode ManifestFormats}: the standard
 * ones, plus Docker schema 1 when `compatibility.schema1.enabled` is set. Serving knows
 * every format whatever the setting, so what was stored is always served the same way.
 */
import { DOCKER_SCHEMA1 } from "../media_types.ts";
import { invalid, isObject } from "./descriptor.ts";
import { dockerFormat } from "./docker.ts";
import { detectOci, ociFormat } from "./oci.ts";
import { SCHEMA1_SIGNED, SCHEMA1_UNSIGNED, schema1Format } from "./schema1.ts";
import type { ManifestFormat, ParsedManifest, PushTarget } from "./types.ts";

export type {
  Descriptor,
  ManifestFormat,
  ManifestSignature,
  ParsedManifest,
  PushTarget,
} from "./types.ts";

/** The formats every registry accepts. */
export const FORMATS: readonly ManifestFormat[] = [ociFormat, dockerFormat];

/** Every format Berth knows, schema 1 included. */
export const ALL_FORMATS: readonly ManifestFormat[] = [...FORMATS, schema1Format];

const ALL_BY_TYPE = new Map(ALL_FORMATS.flatMap((f) => f.mediaTypes.map((t) => [t, f] as const)));

/** The format of a stored manifest of `mediaType`, whichever formats are accepted on push. */
export function formatOf(mediaType: string): ManifestFormat | undefined {
  return ALL_BY_TYPE.get(mediaType);
}

/** A set of formats a registry accepts: parsing pushes and negotiating `Accept`. */
export class ManifestFormats {
  readonly #byType: ReadonlyMap<string, ManifestFormat>;
  /** Every manifest media type of these formats. */
  readonly types: ReadonlySet<string>;

  constructor(formats: readonly ManifestFormat[]) {
    this.#byType = new Map(formats.flatMap((f) => f.mediaTypes.map((t) => [t, f] as const)));
    this.types = new Set(this.#byType.keys());
  }

  /** Parses and validates manifest bytes pushed with `contentType`. */
  parse(bytes: Uint8Array, contentType: string | null): ParsedManifest {
    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (err) {
      throw invalid(`The manifest is not valid JSON: ${(err as Error).message}`);
    }
    if (!isObject(doc)) throw invalid("The manifest must be a JSON object");
    const mediaType = this.#mediaTypeOf(contentType, doc);
    const parsed = this.#byType.get(mediaType)!.parse(doc, mediaType, bytes);
    return { ...parsed, digested: parsed.digested ?? bytes };
  }

  /** The checks of {@linkcode ManifestFormat.admit}, for formats that have them. */
  async admit(parsed: ParsedManifest, target: PushTarget): Promise<void> {
    await formatOf(parsed.mediaType)?.admit?.(parsed, target);
  }

  /**
   * True when `accept` (an `Accept` header value, possibly repeated and joined by commas)
   * allows serving a manifest of `mediaType`. A header that names no manifest type at all
   * (absent, `*\/*`, `application/json`) allows anything, as clients rely on.
   */
  accepts(accept: string | null | undefined, mediaType: string): boolean {
    if (!accept) return true;
    const listed = accept.split(",").map((p) => p.split(";")[0].trim().toLowerCase());
    if (listed.includes(mediaType) || listed.includes("*/*")) return true;
    return !listed.some((t) => this.types.has(t));
  }

  /**
   * Decides the media type of a pushed manifest from its `Content-Type` and its own
   * `mediaType` field; they must agree when both are present. Schema 1 has no `mediaType`
   * field: `schemaVersion` 1 tells it, signed when it carries `signatures`.
   */
  #mediaTypeOf(contentType: string | null, doc: Record<string, unknown>): string {
    const raw = contentType?.split(";")[0].trim().toLowerCase();
    // Clients that do not know the type send a generic one (or none); the body decides then.
    const header = raw && raw !== "application/json" && raw !== "text/plain" ? raw : undefined;
    const field = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
    if (doc.mediaType !== undefined && field === undefined) {
      throw invalid("mediaType must be a string");
    }
    if (header && field && header !== field) {
      throw invalid(`Content-Type "${header}" does not match the manifest's mediaType "${field}"`);
    }
    const schema1 = doc.schemaVersion === 1
      ? (doc.signatures === undefined ? SCHEMA1_UNSIGNED : SCHEMA1_SIGNED)
      : null;
    const type = header ?? field ?? detectOci(doc) ?? schema1;
    if (!type) {
      if (doc.schemaVersion !== 2) {
        throw invalid("schemaVersion must be 2", { schemaVersion: doc.schemaVersion });
      }
      throw invalid("The manifest has no media type (Content-Type or mediaType)");
    }
    if (!this.#byType.has(type)) {
      if (DOCKER_SCHEMA1.includes(type)) {
        throw invalid(
          "Docker schema 1 manifests are not accepted by this registry " +
            "(compatibility.schema1.enabled is off); push schema 2 or OCI",
        );
      }
      throw invalid(`Manifest media type "${type}" is not supported`, {
        supported: [...this.types],
      });
    }
    return type;
  }
}

/** The formats every registry accepts (OCI and Docker schema 2). */
export const STANDARD_FORMATS: ManifestFormats = new ManifestFormats(FORMATS);

/** The formats a registry accepts with `compatibility.schema1.enabled`. */
export const SCHEMA1_FORMATS: ManifestFormats = new ManifestFormats(ALL_FORMATS);

/** The formats accepted on push, by the `compatibility.schema1.enabled` setting. */
export function manifestFormats(options: { schema1?: boolean } = {}): ManifestFormats {
  return options.schema1 ? SCHEMA1_FORMATS : STANDARD_FORMATS;
}

/** Every manifest media type a registry with the standard formats accepts. */
export const MANIFEST_TYPES: ReadonlySet<string> = STANDARD_FORMATS.types;

/** {@linkcode ManifestFormats.parse} with the standard formats. */
export function parseManifest(bytes: Uint8Array, contentType: string | null): ParsedManifest {
  return STANDARD_FORMATS.parse(bytes, contentType);
}

/** {@linkcode ManifestFormats.accepts} with the standard formats. */
export function acceptsManifest(accept: string | null | undefined, mediaType: string): boolean {
  return STANDARD_FORMATS.accepts(accept, mediaType);
}
