/**
 * @module
 * Content for UI tests, pushed over the registry API: a multi-platform index with a
 * signature and an SBOM referring to it, single images with real-looking configs
 * (entrypoint, environment, labels, history), and a few more repositories to search.
 */
import assert from "node:assert/strict";
import { pushBlob, putManifest, randomBytes, sha256 } from "./oci.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
const EMPTY = "application/vnd.oci.empty.v1+json";

/** Types of the referrers pushed. */
export const SIGNATURE_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json";
export const SBOM_TYPE = "application/spdx+json";

/** A manifest pushed: its digest, size and document. */
export interface Pushed {
  digest: string;
  size: number;
  doc: Record<string, unknown>;
}

async function put(
  base: string,
  repo: string,
  ref: string,
  doc: Record<string, unknown>,
  type: string,
): Promise<Pushed> {
  const text = JSON.stringify(doc);
  const res = await putManifest(base, repo, ref, text, type);
  assert.equal(res.status, 201, await res.text());
  return { digest: sha256(text), size: new TextEncoder().encode(text).byteLength, doc };
}

/** Options of {@linkcode pushImage}. */
export interface ImageSpec {
  architecture?: string;
  variant?: string;
  layers?: number[];
  labels?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  annotations?: Record<string, string>;
}

/** Pushes an image with a full config; tagged `ref` (a tag or its own digest). */
export async function pushImage(
  base: string,
  repo: string,
  ref: string | null,
  spec: ImageSpec = {},
): Promise<Pushed> {
  const layers = [];
  for (const size of spec.layers ?? [2048, 4096]) {
    layers.push({ mediaType: LAYER, ...await pushBlob(base, repo, randomBytes(size)) });
  }
  const config = {
    architecture: spec.architecture ?? "amd64",
    ...(spec.variant ? { variant: spec.variant } : {}),
    os: "linux",
    created: "2024-05-01T12:00:00Z",
    author: "Berth tests",
    config: {
      Entrypoint: spec.entrypoint ?? ["/usr/bin/web"],
      Cmd: spec.cmd ?? ["--port", "8080"],
      Env: ["PATH=/usr/local/bin:/usr/bin", "APP_ENV=production"],
      WorkingDir: "/srv",
      ExposedPorts: { "8080/tcp": {} },
      Labels: spec.labels ?? { "org.opencontainers.image.source": "https://example.com/web" },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    history: [
      { created: "2024-05-01T11:59:00Z", created_by: "ADD rootfs.tar /" },
      { created: "2024-05-01T11:59:30Z", created_by: "COPY web /usr/bin/web" },
      { created: "2024-05-01T12:00:00Z", created_by: 'CMD ["--port" "8080"]', empty_layer: true },
    ],
    nonce: Math.random(),
  };
  const configBlob = await pushBlob(base, repo, JSON.stringify(config));
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...configBlob },
    layers,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  };
  const text = JSON.stringify(doc);
  return await put(base, repo, ref ?? sha256(text), doc, OCI_MANIFEST);
}

/** Pushes an artifact whose subject is `subject`, untagged. */
export async function pushReferrer(
  base: string,
  repo: string,
  subject: Pushed,
  artifactType: string,
  payload: string,
): Promise<Pushed> {
  const empty = await pushBlob(base, repo, "{}");
  const blob = await pushBlob(base, repo, payload);
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: EMPTY, ...empty },
    layers: [{ mediaType: artifactType, ...blob }],
    subject: { mediaType: OCI_INDEX, digest: subject.digest, size: subject.size },
    annotations: { "org.opencontainers.image.created": "2024-05-02T08:00:00Z" },
  };
  const text = JSON.stringify(doc);
  return await put(base, repo, sha256(text), doc, OCI_MANIFEST);
}

/** What {@linkcode seed} pushed. */
export interface Seeded {
  index: Pushed;
  amd64: Pushed;
  arm64: Pushed;
  signature: Pushed;
  sbom: Pushed;
}

/**
 * `team/web:v2` (and `latest`): an index of linux/amd64 and linux/arm64/v8, signed, with
 * an SBOM; `team/api:1.0` and `1.1`; `team/worker:dev`; `public/tools:stable`.
 */
export async function seed(base: string): Promise<Seeded> {
  const amd64 = await pushImage(base, "team/web", null, { architecture: "amd64" });
  const arm64 = await pushImage(base, "team/web", null, {
    architecture: "arm64",
    variant: "v8",
    layers: [3000, 5000, 7000],
  });
  const entry = (p: Pushed, architecture: string, variant?: string) => ({
    mediaType: OCI_MANIFEST,
    digest: p.digest,
    size: p.size,
    platform: { os: "linux", architecture, ...(variant ? { variant } : {}) },
  });
  const indexDoc = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [entry(amd64, "amd64"), entry(arm64, "arm64", "v8")],
    annotations: { "org.opencontainers.image.title": "web" },
  };
  const index = await put(base, "team/web", "v2", indexDoc, OCI_INDEX);
  await put(base, "team/web", "latest", indexDoc, OCI_INDEX);
  const signature = await pushReferrer(base, "team/web", index, SIGNATURE_TYPE, "signed");
  const sbom = await pushReferrer(base, "team/web", index, SBOM_TYPE, '{"spdxVersion":"2.3"}');
  await pushImage(base, "team/api", "1.0", { entrypoint: ["/api"] });
  await new Promise((r) => setTimeout(r, 5));
  await pushImage(base, "team/api", "1.1", { entrypoint: ["/api"] });
  await pushImage(base, "team/worker", "dev");
  await pushImage(base, "public/tools", "stable", { entrypoint: ["/bin/sh"] });
  return { index, amd64, arm64, signature, sbom };
}
