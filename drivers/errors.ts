/**
 * @module
 * The errors every driver may throw, whatever it stores. The registry layer translates
 * them once (`src/registry/driver_errors.ts`); anything else a driver throws is a bug or
 * an unexpected backend failure and surfaces as `UNKNOWN`.
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

/**
 * Thrown when the backend has no room left (a full disk, a quota). Nothing partial is
 * left behind by the operation that failed; the same call succeeds once space is free.
 */
export class DriverFullError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DriverFullError";
  }
}

/**
 * Thrown when an object or an unfinished upload the caller names does not exist (where
 * the method does not report absence as `null`): an upload that was published, aborted
 * or purged meanwhile, or whose bytes were lost.
 */
export class DriverNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DriverNotFoundError";
  }
}

/** Thrown by `read` when the range starts at or past the end of the object. */
export class DriverRangeError extends Error {
  /** Size of the object the range was checked against. */
  readonly size: number;
  constructor(size: number) {
    super(`Range is outside an object of ${size} bytes`);
    this.name = "DriverRangeError";
    this.size = size;
  }
}

/** True when a filesystem error says the device or quota is full. */
export function isNoSpace(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  return code === "ENOSPC" || code === "EDQUOT" ||
    /no space left on device|disk quota exceeded|os error 28\b|os error 122\b/i.test(err.message);
}
