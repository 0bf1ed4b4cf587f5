/**
 * @module
 * Gives every request an id: the client's own `X-Request-Id` when it is a sane token,
 * a fresh UUID otherwise. Events, logs and error messages carry it.
 */
import type { Middleware } from "./chain.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request-id step. */
export function requestId(): Middleware {
  return (state, next) => {
    const given = state.request.headers.get("x-request-id");
    state.requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    return next();
  };
}
