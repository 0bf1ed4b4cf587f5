/**
 * @module
 * Errors raised by the HTTP layer itself (no such route, a method a route lacks, an
 * authentication challenge, a throttled login): an OCI code plus the exact status and
 * headers the response must carry. The registry layer never uses this type.
 */
import { type ErrorCode, RegistryError, type RegistryErrorOptions } from "../errors.ts";

/** Options of an {@linkcode HttpError}. */
export interface HttpErrorOptions extends RegistryErrorOptions {
  /** Overrides the status of the code (a 404 for an unknown route, a 400 from the token endpoint). */
  status?: number;
  /** Headers the response must carry (`WWW-Authenticate`, `Allow`, `Retry-After`). */
  headers?: Record<string, string>;
}

/** A failure decided at the HTTP layer, with its status and headers. */
export class HttpError extends RegistryError {
  readonly status?: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, options: HttpErrorOptions = {}) {
    const { status, headers, ...rest } = options;
    super(code, message, rest);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers ?? {};
  }
}
