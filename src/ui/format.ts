/**
 * @module
 * How values read on a page: sizes in binary units, times as "3 hours ago" with the exact
 * UTC time beside them, shortened digests, media types by name, platforms as
 * `os/architecture/variant`, and the kinds of referrers (signatures, SBOMs, attestations).
 */
import { type Html, html } from "./html.ts";

/** `1536` -> `1.5 KiB`. */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** How long ago `time` was, in words (`now` for tests). */
export function ago(time: number, now = Date.now()): string {
  const s = Math.round((now - time) / 1000);
  if (s < 0) return "just now";
  if (s < 45) return "seconds ago";
  const steps: [number, string][] = [
    [60, "minute"],
    [3600, "hour"],
    [86400, "day"],
    [30 * 86400, "month"],
    [365 * 86400, "year"],
  ];
  let unit = "minute", size = 60;
  for (const [seconds, name] of steps) {
    if (s >= seconds * 0.95) [size, unit] = [seconds, name];
  }
  const n = Math.max(1, Math.round(s / size));
  return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
}

/** A `<time>` element: words, with the exact UTC time as its title; "-" when unknown. */
export function when(time: number | null | undefined): Html {
  if (!time) return html`<span class="muted">-</span>`;
  const iso = new Date(time).toISOString();
  return html`<time datetime="${iso}" title="${iso.replace("T", " ").slice(0, 19)} UTC">${
    ago(time)
  }</time>`;
}

/** `sha256:0123456789abcdef...` -> `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return colon < 0 ? digest.slice(0, 19) : digest.slice(0, colon + 13);
}

const MEDIA_TYPES: Record<string, string> = {
  "application/vnd.oci.image.index.v1+json": "OCI index",
  "application/vnd.oci.image.manifest.v1+json": "OCI image",
  "application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
  "application/vnd.docker.distribution.manifest.v2+json": "Docker image",
  "application/vnd.oci.image.config.v1+json": "OCI image config",
  "application/vnd.docker.container.image.v1+json": "Docker image config",
  "application/vnd.oci.image.layer.v1.tar": "tar layer",
  "application/vnd.oci.image.layer.v1.tar+gzip": "tar+gzip layer",
  "application/vnd.oci.image.layer.v1.tar+zstd": "tar+zstd layer",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "tar+gzip layer",
  "application/vnd.oci.empty.v1+json": "empty",
};

/** A media type by a short name, or the type itself. */
export function mediaTypeName(mediaType: string): string {
  return MEDIA_TYPES[mediaType] ?? mediaType;
}

/** A manifest's kind by name: an artifact by its artifact type, else by its media type. */
export function typeName(m: { mediaType: string; artifactType: string | null }): string {
  return m.artifactType ? `artifact: ${m.artifactType}` : mediaTypeName(m.mediaType);
}

/** `{os: "linux", architecture: "arm64", variant: "v8"}` -> `linux/arm64/v8`. */
export function platformName(p: Record<string, unknown> | undefined): string {
  if (!p) return "";
  const parts = [p.os, p.architecture, p.variant].filter((x) => typeof x === "string" && x);
  let out = parts.join("/");
  if (typeof p["os.version"] === "string" && p["os.version"]) out += ` (${p["os.version"]})`;
  return out;
}

/** The kind of a referrer, from its artifact type. */
export function referrerKind(artifactType: string | undefined): string {
  const t = (artifactType ?? "").toLowerCase();
  if (!t) return "Other artifacts";
  if (t.includes("signature") || t.includes(".sig") || t.includes("cosign")) return "Signatures";
  if (t.includes("spdx") || t.includes("cyclonedx") || t.includes("sbom") || t.includes("syft")) {
    return "SBOMs";
  }
  if (
    t.includes("in-toto") || t.includes("intoto") || t.includes("attestation") ||
    t.includes("dsse") || t.includes("provenance") || t.includes("sigstore.bundle")
  ) {
    return "Attestations";
  }
  return "Other artifacts";
}
