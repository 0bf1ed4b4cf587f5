/**
 * @module
 * Signatures kept beside a repository's manifest link, for formats whose digest covers a
 * payload inside the pushed bytes (Docker schema 1). Each distinct signature is one record
 * (`["manifest-signature", repo, digest, id]`), written in the commit that links the
 * manifest, so a second push of the same payload with another signature adds it, and the
 * same signature pushed again changes nothing. They go with the link when it is deleted,
 * and {@linkcode assemble} hands them back to the format to rebuild what is served.
 */
import type { MetadataStore, Mutation } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import { formatOf, type ManifestSignature } from "../oci/manifests/mod.ts";
import { meta } from "./keys.ts";
import type { SignatureRecord } from "./records.ts";
import type { ManifestInfo } from "./repository.ts";

/** Most signatures kept for one manifest of one repository (each is served with it). */
export const MAX_SIGNATURES = 100;
/** Largest signature accepted, as JSON (an `x5c` chain of a few certificates fits). */
export const MAX_SIGNATURE_BYTES = 32_768;

/** The signatures kept for manifest `digest` of `repo`, in key order. */
export async function storedSignatures(
  store: MetadataStore,
  repo: string,
  digest: string,
): Promise<ManifestSignature[]> {
  const out: ManifestSignature[] = [];
  const prefix = meta.manifestSignatures(repo, digest);
  for await (const entry of store.list<SignatureRecord>(prefix, { limit: MAX_SIGNATURES })) {
    const { value, group } = entry.value;
    const id = entry.key[entry.key.length - 1];
    out.push(group === undefined ? { id, value } : { id, value, group });
  }
  return out;
}

/**
 * The mutations that keep `incoming` (the signatures of one push) beside the link, for
 * the commit that writes it. Refuses signatures too large for a record, more than
 * {@linkcode MAX_SIGNATURES} in all, and signatures of another group than those already
 * kept (schema 1: that cut the payload elsewhere, so the rebuilt document would not parse).
 */
export async function signatureMutations(
  store: MetadataStore,
  repo: string,
  digest: string,
  incoming: readonly ManifestSignature[] | undefined,
  now: number,
): Promise<Mutation[]> {
  if (!incoming || incoming.length === 0) return [];
  for (const sig of incoming) {
    const size = JSON.stringify(sig.value).length;
    if (size > MAX_SIGNATURE_BYTES) {
      throw new RegistryError(
        "MANIFEST_INVALID",
        `A signature of the manifest is ${size} bytes; at most ${MAX_SIGNATURE_BYTES} are accepted`,
        { detail: { size, limit: MAX_SIGNATURE_BYTES } },
      );
    }
  }
  const kept = await storedSignatures(store, repo, digest);
  const known = new Set(kept.map((s) => s.id));
  const added = [...new Map(incoming.map((s) => [s.id, s])).values()]
    .filter((s) => !known.has(s.id));
  const group = kept[0]?.group;
  if (added.some((s) => s.group !== group) && kept.length > 0) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `The signatures do not fit those ${repo} keeps for ${digest} (they sign the payload ` +
        `cut at ${added.find((s) => s.group !== group)!.group}, the others at ${group})`,
      { detail: { kept: group } },
    );
  }
  if (kept.length + added.length > MAX_SIGNATURES) {
    throw new RegistryError(
      "MANIFEST_INVALID",
      `${repo} keeps ${kept.length} signatures for ${digest}; at most ${MAX_SIGNATURES} are kept`,
      { detail: { signatures: kept.length, limit: MAX_SIGNATURES } },
    );
  }
  return added.map((s) => ({
    type: "set",
    key: meta.manifestSignature(repo, digest, s.id),
    value:
      (s.group === undefined
        ? { value: s.value, created: now }
        : { value: s.value, group: s.group, created: now }) satisfies SignatureRecord,
  }));
}

/** Mutations removing every signature kept for manifest `digest` of `repo`. */
export async function signatureDeletions(
  store: MetadataStore,
  repo: string,
  digest: string,
): Promise<Mutation[]> {
  const out: Mutation[] = [];
  for await (const entry of store.list(meta.manifestSignatures(repo, digest))) {
    out.push({ type: "delete", key: entry.key });
  }
  return out;
}

/**
 * For formats that serve more than the stored bytes (schema 1: the payload with every
 * signature kept), the bytes served, with `manifest`'s media type and size set to what is
 * served; null for the others, whose stored bytes (`bytes()`) are served as they are.
 */
export async function assemble(
  store: MetadataStore,
  repo: string,
  manifest: ManifestInfo,
  bytes: () => Promise<Uint8Array>,
): Promise<Uint8Array | null> {
  const serve = formatOf(manifest.mediaType)?.serve;
  if (!serve) return null;
  const stored = await bytes();
  const served = serve(stored, await storedSignatures(store, repo, manifest.digest.value));
  manifest.mediaType = served.mediaType;
  manifest.size = served.bytes.byteLength;
  return served.bytes;
}
