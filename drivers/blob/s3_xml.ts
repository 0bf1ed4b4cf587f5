/**
 * @module
 * The few S3 XML documents the S3 driver reads and writes. S3 responses are flat and
 * machine-generated, so elements are picked out by name rather than with a general XML
 * parser; every text value is entity-decoded, and every value written is escaped.
 */

/** Text of each `<tag>…</tag>` element in `xml`, in document order, entity-decoded. */
export function xmlValues(xml: string, tag: string): string[] {
  const out: string[] = [];
  const pattern = new RegExp(
    `<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>|<${tag}(?:\\s[^>]*)?/>`,
    "g",
  );
  for (const match of xml.matchAll(pattern)) out.push(decodeEntities(match[1] ?? ""));
  return out;
}

/** Text of the first `<tag>` element, or null when there is none. */
export function xmlValue(xml: string, tag: string): string | null {
  return xmlValues(xml, tag)[0] ?? null;
}

/** Raw inner XML of each `<tag>…</tag>` element (for repeated records such as `<Part>`). */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`, "g");
  return [...xml.matchAll(pattern)].map((match) => match[1]);
}

/** An S3 `<Error>` document's code and message, or null when `xml` is not one. */
export function parseS3Error(xml: string): { code: string; message: string } | null {
  const error = xmlElements(xml, "Error")[0];
  if (error === undefined) return null;
  return { code: xmlValue(error, "Code") ?? "", message: xmlValue(error, "Message") ?? "" };
}

/** One object of a listing. */
export interface ListedObject {
  key: string;
  size: number;
  /** `LastModified` in milliseconds since the epoch (0 when absent or unreadable). */
  modified: number;
}

/** One page of a ListObjectsV2 response. */
export interface ListPage {
  objects: ListedObject[];
  /** Token of the next page; null on the last page. */
  next: string | null;
}

/** Parses a `ListBucketResult` (ListObjectsV2). */
export function parseListObjects(xml: string): ListPage {
  const objects = xmlElements(xml, "Contents").map((entry) => ({
    key: xmlValue(entry, "Key") ?? "",
    size: Number(xmlValue(entry, "Size") ?? 0),
    modified: Date.parse(xmlValue(entry, "LastModified") ?? "") || 0,
  }));
  const truncated = xmlValue(xml, "IsTruncated") === "true";
  const next = truncated ? xmlValue(xml, "NextContinuationToken") : null;
  if (truncated && !next) throw new Error("ListObjectsV2 page is truncated but has no token");
  return { objects, next };
}

/** One uploaded part of a multipart upload. */
export interface UploadedPart {
  number: number;
  etag: string;
  size: number;
}

/** One page of a ListParts response. */
export interface PartsPage {
  parts: UploadedPart[];
  /** Part-number marker of the next page; null on the last page. */
  next: string | null;
}

/** Parses a `ListPartsResult`. */
export function parseListParts(xml: string): PartsPage {
  const parts = xmlElements(xml, "Part").map((part) => ({
    number: Number(xmlValue(part, "PartNumber")),
    etag: xmlValue(part, "ETag") ?? "",
    size: Number(xmlValue(part, "Size")),
  }));
  const truncated = xmlValue(xml, "IsTruncated") === "true";
  const next = truncated ? xmlValue(xml, "NextPartNumberMarker") : null;
  if (truncated && !next) throw new Error("ListParts page is truncated but has no marker");
  return { parts, next };
}

/** The body of a CompleteMultipartUpload request for `parts`, in ascending order. */
export function completeMultipartXml(parts: readonly { number: number; etag: string }[]): string {
  const items = parts.map((part) =>
    `<Part><PartNumber>${part.number}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`
  );
  return `<CompleteMultipartUpload>${items.join("")}</CompleteMultipartUpload>`;
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith("#x")) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return NAMED[name] ?? whole;
  });
}
