/**
 * @module
 * Schema 2 served as schema 1 to clients that take nothing else
 * (`compatibility.schema1.convert`), as distribution did before v3: a decorator of the
 * registry facade whose manifest service, asked by tag with an `Accept` that lists schema
 * 1 types and no other manifest type, serves a Docker schema 2 or OCI image (or the
 * linux/amd64 image of an index) as a schema 1 manifest built from its configuration and
 * signed with the registry's key. The digest is the payload's, so it is the same on every
 * instance and every request. Fetches by digest are served the stored manifest: a digest
 * names those bytes. Everything else passes through untouched.
 */
import { RegistryError } from "../errors.ts";
import { parseDigest, tryParseDigest } from "../oci/digest.ts";
import { formatLengthFor, type JwsKey, prettyJws, signJws } from "../oci/manifests/jws.ts";
import { SCHEMA1_SIGNED, SCHEMA1_UNSIGNED } from "../oci/manifests/schema1.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_SCHEMA1,
  INDEX_TYPES,
  OCI_MANIFEST,
} from "../oci/media_types.ts";
import { digestBytes } from "../registry/digest_bytes.ts";
import {
  ManifestsDecorator,
  RegistryDecorator,
  RepositoryDecorator,
} from "../registry/decorators.ts";
import type {
  ManifestContent,
  ManifestInfo,
  ManifestRequest,
  ManifestService,
  Registry,
  Repository,
  RequestContext,
} from "../registry/repository.ts";
import { buildSchema1, EMPTY_LAYER, EMPTY_LAYER_DIGEST } from "./build.ts";

/** Largest image configuration read for a conversion. */
const MAX_CONFIG_BYTES = 4 << 20;
/** Converted manifests kept (per registry), so HEAD and GET agree and repeats are cheap. */
const CACHE_ENTRIES = 256;

/** The schema 1 type a client asks for, or null when it takes schema 2 or OCI too. */
export function schema1Only(accept: string | null | undefined): string | null {
  if (!accept) return null;
  const listed = accept.split(",").map((p) => p.split(";")[0].trim().toLowerCase());
  const others = [DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, ...INDEX_TYPES, "*/*"];
  if (listed.some((t) => others.includes(t))) return null;
  if (listed.includes(SCHEMA1_SIGNED)) return SCHEMA1_SIGNED;
  return listed.includes(SCHEMA1_UNSIGNED) ? SCHEMA1_UNSIGNED : null;
}

/** Wraps `registry` so that old clients are served schema 1, signed with `key()`. */
export function convertingRegistry(registry: Registry, key: () => Promise<JwsKey>): Registry {
  return new ConvertingRegistry(registry, key);
}

class ConvertingRegistry extends RegistryDecorator {
  readonly #cache = new Map<string, ManifestContent>();

  constructor(inner: Registry, private readonly key: () => Promise<JwsKey>) {
    super(inner);
  }

  override repository(name: string, context: RequestContext): Repository {
    return new ConvertingRepository(this.inner.repository(name, context), this.key, this.#cache);
  }
}

class ConvertingRepository extends RepositoryDecorator {
  #manifests?: ConvertingManifests;

  constructor(
    inner: Repository,
    private readonly key: () => Promise<JwsKey>,
    private readonly cache: Map<string, ManifestContent>,
  ) {
    super(inner);
  }

  override get manifests(): ManifestService {
    return this.#manifests ??= new ConvertingManifests(this.inner, this.key, this.cache);
  }
}

class ConvertingManifests extends ManifestsDecorator {
  constructor(
    private readonly repo: Repository,
    private readonly key: () => Promise<JwsKey>,
    private readonly cache: Map<string, ManifestContent>,
  ) {
    super(repo.manifests);
  }

  get #inner(): ManifestService {
    return this.inner;
  }

  override async stat(reference: string, request: ManifestRequest = {}): Promise<ManifestInfo> {
    const want = schema1Only(request.accept);
    if (!want) return await this.#inner.stat(reference, request);
    if (reference.includes(":")) return await this.#inner.stat(reference, { accept: null });
    const stored = await this.#inner.stat(reference, { accept: null });
    if (DOCKER_SCHEMA1.includes(stored.mediaType)) return stored;
    const cached = this.cache.get(this.#cacheKey(reference, stored.digest.value, want));
    if (cached) return info(cached);
    return info(await this.get(reference, request));
  }

  override async get(reference: string, request: ManifestRequest = {}): Promise<ManifestContent> {
    const want = schema1Only(request.accept);
    if (!want) return await this.#inner.get(reference, request);
    if (reference.includes(":")) return await this.#inner.get(reference, { accept: null });
    let image = await this.#inner.get(reference, { accept: null });
    if (DOCKER_SCHEMA1.includes(image.mediaType)) return image;
    const cacheKey = this.#cacheKey(reference, image.digest.value, want);
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    if (INDEX_TYPES.has(image.mediaType)) image = await this.#platformImage(image);
    const converted = await this.#convert(reference, image, want);
    this.cache.set(cacheKey, converted);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    return converted;
  }

  #cacheKey(tag: string, digest: string, want: string): string {
    return `${this.repo.name}\n${tag}\n${digest}\n${want}`;
  }

  /** The linux/amd64 image of an index, the platform old clients ran. */
  async #platformImage(index: ManifestContent): Promise<ManifestContent> {
    const doc = JSON.parse(new TextDecoder().decode(index.bytes)) as {
      manifests?: { digest?: string; platform?: { os?: string; architecture?: string } }[];
    };
    const child = doc.manifests?.find((m) =>
      m.platform?.os === "linux" && m.platform?.architecture === "amd64" &&
      typeof m.digest === "string" && tryParseDigest(m.digest)
    );
    if (!child) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `The index ${index.digest.value} has no linux/amd64 image to serve as Docker schema 1`,
      );
    }
    return await this.#inner.get(child.digest!, { accept: null });
  }

  async #convert(tag: string, image: ManifestContent, want: string): Promise<ManifestContent> {
    if (image.mediaType !== DOCKER_MANIFEST && image.mediaType !== OCI_MANIFEST) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `Manifest ${tag} is ${image.mediaType}, which cannot be served as Docker schema 1`,
        { detail: { mediaType: image.mediaType } },
      );
    }
    const doc = JSON.parse(new TextDecoder().decode(image.bytes)) as {
      config: { digest: string };
      layers?: { digest: string }[];
    };
    const built = buildSchema1({
      name: this.repo.name,
      tag,
      config: await this.#read(doc.config.digest),
      layers: (doc.layers ?? []).map((l) => l.digest),
    });
    if (built.usesEmptyLayer) await this.#ensureEmptyLayer();
    const digest = digestBytes(built.payload, "sha256");
    let bytes = built.payload;
    if (want === SCHEMA1_SIGNED) {
      const signature = await signJws(built.payload, await this.key());
      bytes = prettyJws(built.payload, formatLengthFor(built.payload), [signature]);
    }
    return { digest, size: bytes.byteLength, mediaType: want, bytes };
  }

  /** The bytes of blob `digest` of the repository (an image configuration). */
  async #read(digest: string): Promise<Uint8Array> {
    const blob = await this.repo.blobs.require(parseDigest(digest), { verify: false });
    if (blob.size > MAX_CONFIG_BYTES) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `The image configuration is ${blob.size} bytes, too large to serve as Docker schema 1`,
      );
    }
    return await new Response(await this.repo.blobs.open(blob)).bytes();
  }

  /** Links the empty layer `empty_layer` history entries point at, as distribution does. */
  async #ensureEmptyLayer(): Promise<void> {
    const digest = parseDigest(EMPTY_LAYER_DIGEST);
    if (await this.repo.blobs.stat(digest)) return;
    await this.repo.uploads.monolithic(digest, new Blob([EMPTY_LAYER]).stream());
  }
}

function info(content: ManifestContent): ManifestInfo {
  return { digest: content.digest, size: content.size, mediaType: content.mediaType };
}
