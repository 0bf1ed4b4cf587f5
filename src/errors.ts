/**
 * @module
 * The one error type the registry layer and the OCI parsers throw: an OCI error code, a
 * message, structured detail for the client, and hints that say what the failure means
 * (where an upload stands, when to retry, what limit was hit) without naming HTTP.
 * `src/http/render_error.ts` is the only place that turns one into a response: it owns
 * the code-to-status table and derives headers (`Range`, `Retry-After`, ...) from hints.
 */

/**
 * Error codes of the OCI Distribution Specification (plus distribution's pagination
 * code), the only codes Berth answers with on the OCI routes.
 */
export type ErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "MANIFEST_UNVERIFIED"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "PAGINATION_NUMBER_INVALID"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "RANGE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "UNAVAILABLE"
  | "UNKNOWN";

/** What a failure means beyond its code; the HTTP layer turns these into statuses and headers. */
export interface ErrorHints {
  /** The upload session the failure is about, and the offset the client may resume from. */
  upload?: { id: string; offset: number };
  /** Seconds after which the same request may succeed (contention, a busy upload, an outage). */
  retryAfter?: number;
  /** Size of the blob a byte range was checked against (an unsatisfiable range). */
  blobSize?: number;
  /** A request body was over this many bytes. */
  tooLarge?: number;
  /**
   * The thing "unknown" is referenced by the pushed body rather than named by the URL
   * (a missing child of a pushed index): a bad request, not a missing resource.
   */
  referenced?: boolean;
  /** The storage backend is out of space. */
  storageFull?: boolean;
}

/** Options of a {@linkcode RegistryError}. */
export interface RegistryErrorOptions extends ErrorHints {
  /** Extra structured detail rendered in the error body. */
  detail?: unknown;
  /** The underlying failure, for logs only. */
  cause?: unknown;
}

/** A failure the client is told about, with its OCI code. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly detail: unknown;
  readonly hints: Readonly<ErrorHints>;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "RegistryError";
    this.code = code;
    const { detail, cause: _cause, ...hints } = options;
    this.detail = detail;
    this.hints = hints;
  }

  /** The OCI error body: `{"errors":[{code,message,detail}]}`. */
  toBody(): string {
    const entry: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return JSON.stringify({ errors: [entry] });
  }
}

/** Shorthand for `new RegistryError(...)`, handy in expressions. */
export function fail(code: ErrorCode, message: string, options?: RegistryErrorOptions): never {
  throw new RegistryError(code, message, options);
}
