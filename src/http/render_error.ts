/**
 * @module
 * The one place failures become HTTP responses: the table from OCI error code to status,
 * the headers each hint calls for, and the translation of driver errors that reach the
 * HTTP layer unhandled. Unknown failures are logged with their cause and the request id
 * and shown to the client as `UNKNOWN` with that id only.
 */
import {
  DriverFullError,
  DriverNotFoundError,
  DriverRangeError,
  DriverUnavailableError,
} from "../../drivers/errors.ts";
import { type ErrorCode, RegistryError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { HttpError } from "./http_error.ts";

/** Status of every code, as distribution answers them. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  MANIFEST_UNVERIFIED: 400,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  PAGINATION_NUMBER_INVALID: 400,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  RANGE_INVALID: 416,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
};

/** Seconds a client is asked to wait when storage is unavailable. */
const UNAVAILABLE_RETRY_SECONDS = 5;

/** The status an error is answered with. */
export function statusOf(error: RegistryError): number {
  if (error instanceof HttpError && error.status !== undefined) return error.status;
  const h = error.hints;
  if (h.tooLarge !== undefined) return 413;
  if (h.storageFull) return 507;
  if (h.referenced && error.code === "MANIFEST_UNKNOWN") return 400;
  return ERROR_STATUS[error.code];
}

/** The headers an error's hints call for. */
export function headersOf(error: RegistryError): Headers {
  const headers = new Headers(error instanceof HttpError ? error.headers : {});
  const h = error.hints;
  if (h.upload) {
    // distribution's form: the last byte held, `0-0` for an empty upload; the count itself
    // (draft-ietf-httpbis-resumable-upload's Upload-Offset) tells empty from one byte.
    headers.set("Range", `0-${Math.max(0, h.upload.offset - 1)}`);
    headers.set("Upload-Offset", String(h.upload.offset));
  }
  if (h.retryAfter !== undefined) headers.set("Retry-After", String(h.retryAfter));
  if (h.blobSize !== undefined) headers.set("Content-Range", `bytes */${h.blobSize}`);
  return headers;
}

/** Translates a driver error that reached the HTTP layer; null for anything else. */
function fromDriver(err: unknown): RegistryError | null {
  if (err instanceof DriverUnavailableError) {
    return new RegistryError("UNAVAILABLE", "Storage is unavailable; try again", {
      retryAfter: UNAVAILABLE_RETRY_SECONDS,
      cause: err,
    });
  }
  if (err instanceof DriverFullError) {
    return new RegistryError(
      "UNAVAILABLE",
      "Storage is full: no space left for this write; nothing partial was kept, " +
        "retry once space is freed",
      { storageFull: true, cause: err },
    );
  }
  if (err instanceof DriverRangeError) {
    return new RegistryError("RANGE_INVALID", err.message, { blobSize: err.size });
  }
  if (err instanceof DriverNotFoundError) {
    return new RegistryError("BLOB_UNKNOWN", "The stored bytes are gone; push them again", {
      cause: err,
    });
  }
  return null;
}

/** Errors Deno raises when a request body is cut off by the client. */
export function isClientAbort(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "BadResource" || err.name === "Http" || err.name === "Interrupted" ||
    /connection (closed|reset)|body (read|stream)|unexpected eof/i.test(err.message);
}

/** Turns any failure into an OCI error response. */
export function renderError(
  err: unknown,
  request: Request,
  logger: Logger,
  requestId: string,
): Response {
  let error: RegistryError;
  if (err instanceof RegistryError) {
    error = err;
  } else {
    const translated = fromDriver(err);
    if (translated) {
      error = translated;
      logger.warn("storage failure", { request_id: requestId, error: err });
    } else if (isClientAbort(err)) {
      // The client went away mid-body; nothing was published. 400 is for the log only.
      error = new RegistryError("BLOB_UPLOAD_INVALID", "The request body ended early");
    } else {
      logger.error("unexpected error", { request_id: requestId, error: err });
      error = new RegistryError("UNKNOWN", `Internal error; request id ${requestId}`);
    }
  }
  const headers = headersOf(error);
  headers.set("Content-Type", "application/json");
  const body = request.method === "HEAD" ? null : error.toBody();
  if (body) headers.set("Content-Length", String(new TextEncoder().encode(body).byteLength));
  return new Response(body, { status: statusOf(error), headers });
}
