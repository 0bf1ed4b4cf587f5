/**
 * @module
 * The error boundary: whatever the rest of the chain throws becomes an OCI error
 * response here (`render_error.ts`), so steps and handlers only ever throw.
 */
import type { Logger } from "../../log.ts";
import { renderError } from "../render_error.ts";
import type { Middleware } from "./chain.ts";

/** The error-boundary step. */
export function errorBoundary(logger: Logger): Middleware {
  return async (state, next) => {
    try {
      return await next();
    } catch (err) {
      return renderError(err, state.request, logger, state.requestId);
    }
  };
}
