/**
 * @module
 * The middleware chain: each step gets the request's state and a `next` that runs the
 * rest of the chain, and returns the response (its own, or the one `next` gave, possibly
 * changed). `src/app.ts` lists the steps; a capability that needs to see every request
 * (metrics, a read-only mirror mode, a UI) is one more step, not an edit of the others.
 */
import type { Access } from "../../access.ts";
import type { Match } from "../router.ts";

/** What the chain learns about one request on its way in and out. */
export interface RequestState {
  readonly request: Request;
  readonly url: URL;
  /** The client's address ("" when unknown). */
  readonly client: string;
  /** `performance.now()` when the request arrived. */
  readonly started: number;
  /** Set by the request-id step. */
  requestId: string;
  /** Set by the router step: the route and its parameters. */
  match?: Extract<Match, { kind: "found" }>;
  /** The validated repository name of a repository route ("" otherwise). */
  name: string;
  /** Set by the authorize step: the caller's rights. */
  access?: Access;
  /** The OpenTelemetry trace id of the request, when tracing is on. */
  traceId?: string;
}

/** Runs the rest of the chain. */
export type Next = () => Promise<Response>;

/** One step of the chain. */
export type Middleware = (state: RequestState, next: Next) => Promise<Response>;

/** The steps as one function, ending in `last`. */
export function compose(
  steps: readonly Middleware[],
  last: (state: RequestState) => Promise<Response>,
): (state: RequestState) => Promise<Response> {
  return steps.reduceRight<(state: RequestState) => Promise<Response>>(
    (next, step) => (state) => step(state, () => next(state)),
    last,
  );
}
