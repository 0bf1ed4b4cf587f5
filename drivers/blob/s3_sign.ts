/**
 * @module
 * AWS Signature Version 4 for the S3 driver: `Authorization` headers for requests and
 * query-signed (presigned) URLs. The canonicalisation and HMAC chain are aws4fetch's
 * `AwsV4Signer`; this module fixes how the driver drives it (service `s3`, an explicit
 * payload hash, an injectable clock) and is what `tests/unit/sigv4_test.ts` checks
 * against AWS's published test vectors.
 */
import { AwsV4Signer } from "aws4fetch";

/** Access keys. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where a signature is valid. */
export interface SigningScope {
  region: string;
  /** `s3` for the driver; the generic test suite uses `service`. */
  service: string;
}

/** SHA-256 of the empty string: the payload hash of bodiless requests. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A request to sign. */
export interface SignInput {
  method: string;
  url: URL;
  headers?: HeadersInit;
  /** Hashed only when `payloadHash` is absent. */
  body?: string | Uint8Array;
  /**
   * Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`), sent as `x-amz-content-sha256`,
   * which S3 requires on every header-signed request. Absent: no such header, and the
   * body is hashed (the generic signing suite's convention).
   */
  payloadHash?: string;
  /** `YYYYMMDDTHHMMSSZ`; the current time when absent. */
  datetime?: string;
}

/** Key-derivation cache shared by the signers of one client (keys change once a day). */
export type SigningCache = Map<string, ArrayBuffer>;

/** Returns the headers of `input` plus `X-Amz-Date`, the payload hash and `Authorization`. */
export async function signHeaders(
  input: SignInput,
  credentials: Credentials,
  scope: SigningScope,
  cache?: SigningCache,
): Promise<Headers> {
  const headers = new Headers(input.headers);
  if (input.payloadHash) headers.set("x-amz-content-sha256", input.payloadHash);
  const signer = new AwsV4Signer({
    method: input.method,
    url: input.url.toString(),
    headers,
    body: input.body as BodyInit | undefined,
    ...credentials,
    ...scope,
    cache,
    datetime: input.datetime,
  });
  return (await signer.sign()).headers;
}

/**
 * A presigned URL: `url` with the `X-Amz-*` query parameters that let anyone holding it
 * send `method` (usually GET) for `expiresIn` seconds (at most 7 days, S3's limit).
 * The payload is `UNSIGNED-PAYLOAD` and only `host` is signed.
 */
export async function presignUrl(
  method: string,
  url: URL,
  expiresIn: number,
  credentials: Credentials,
  scope: SigningScope,
  datetime?: string,
): Promise<URL> {
  const seconds = Math.max(1, Math.min(604_800, Math.floor(expiresIn)));
  const target = new URL(url);
  target.searchParams.set("X-Amz-Expires", String(seconds));
  const signer = new AwsV4Signer({
    method,
    url: target.toString(),
    ...credentials,
    ...scope,
    signQuery: true,
    datetime,
  });
  return (await signer.sign()).url;
}

/** Hex SHA-256 of `bytes` (the `x-amz-content-sha256` of a buffered body). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
