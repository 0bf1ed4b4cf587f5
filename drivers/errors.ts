/**
 * @module
 * Errors every driver may throw, whatever it stores.
 */

/**
 * Thrown when the backend cannot be reached, or keeps failing after retries. The
 * registry answers 503 `UNAVAILABLE` with `Retry-After`, so clients try again later.
 */
export class DriverUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DriverUnavailableError";
  }
}
