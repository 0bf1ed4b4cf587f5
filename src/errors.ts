/**
 * @module
 * The OCI error table and the one error type handlers and the registry layer throw.
 * `src/app.ts` is the only place a {@linkcode RegistryError} becomes an HTTP response.
 */

/** Error codes of the OCI Distribution Specification, plus distribution's pagination code. */
export const ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
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
} as const;

/** One of the codes in {@linkcode ERROR_STATUS}. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Options of a {@linkcode RegistryError}. */
export interface RegistryErrorOptions {
  /** Extra structured detail rendered in the error body. */
  detail?: unknown;
  /** Overrides the table status (e.g. 413 for an oversized manifest). */
  status?: number;
  /** Headers the response must carry (e.g. `Range` on a 416, `WWW-Authenticate` on 401). */
  headers?: Record<string, string>;
  /** The underlying failure, for logs only. */
  cause?: unknown;
}

/** A failure the client is told about, with its OCI code. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "RegistryError";
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
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
