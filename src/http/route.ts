/**
 * @module
 * The shapes every HTTP module shares, in a leaf module with type-only imports, so the
 * route table, the handlers and the middleware never import each other in a circle:
 * {@linkcode Ctx} (one request on its way through a handler), {@linkcode Handler} and
 * {@linkcode Route} (one entry of the route table, exported by the module that owns it).
 */
import type { Access, Action } from "../access.ts";
import type { Logger } from "../log.ts";
import type { Registry, Repository } from "../registry/repository.ts";
import type { UploadTokens } from "../upload_token.ts";

/** Settings handlers need. */
export interface HttpOptions {
  /** DELETE of manifests and blobs; when false they are `UNSUPPORTED` (405). */
  deleteEnabled: boolean;
  /**
   * Answer blob GETs with a redirect to a short-lived signed URL of the storage backend
   * (`storage.redirect.disable: false`), where the blob driver offers such URLs.
   */
  redirect?: boolean;
  /** Largest manifest accepted (413 above). */
  maxManifestBytes: number;
  /** External base URL for absolute `Location`s (`http.host`); relative when absent. */
  baseUrl?: string;
  /** One log line per request (`log.accesslog.disabled` turns it off). */
  accessLog?: boolean;
  /** Extra headers on every response (`http.headers`). */
  headers?: Record<string, string[]>;
  /** A request body that sends nothing for this long is aborted (milliseconds). */
  stallTimeoutMs?: number;
}

/** What handlers may use besides the request: the registry facade and HTTP settings. */
export interface HandlerDeps {
  registry: Registry;
  tokens: UploadTokens;
  logger: Logger;
  options: HttpOptions;
}

/** One request on its way through a handler. */
export interface Ctx {
  request: Request;
  url: URL;
  /** Path parameters of the matched route (`name`, `reference`, `digest`, `uuid`). */
  params: Record<string, string>;
  /** The repository name, validated, for repository routes; "" otherwise. */
  name: string;
  requestId: string;
  /** The client's address (for throttling and logs). */
  client: string;
  access: Access;
  /**
   * The repository named by the route, as the caller sees it (carrying who asks, for
   * events). Only repository routes may use it.
   */
  readonly repository: Repository;
  deps: HandlerDeps;
}

/** A request handler. */
export type Handler = (ctx: Ctx) => Promise<Response>;

/**
 * What a route needs: repository actions per method (checked on the `name` parameter),
 * `catalog` for the catalog, `none` for unauthenticated routes, or `login` for routes
 * that only need a signed-in caller (`GET /v2/`).
 */
export type RouteAccess = "none" | "login" | "catalog" | Partial<Record<string, Action[]>>;

/** One entry of the route table. */
export interface Route {
  /** Stable name for logs and metrics. */
  name: string;
  pattern: RegExp;
  /** Method to handler; HEAD falls back to GET's handler when absent. */
  methods: Partial<Record<string, Handler>>;
  access: RouteAccess;
}

/** `Warning` of an answer served from a cache whose source could not be reached (RFC 7234). */
export const STALE = '110 - "Response is Stale"';

/** The path-pattern fragment of a repository name (names contain slashes). */
export const NAME = "(?<name>[^?#]+?)";
