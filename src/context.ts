/**
 * @module
 * What every handler receives: the request, its route parameters, the caller's access
 * and the application's dependencies.
 */
import type { Access, Authorizer } from "./access.ts";
import type { Logger } from "./log.ts";
import type { Registry } from "./registry/registry.ts";
import type { UploadTokens } from "./upload_token.ts";

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
}

/** Dependencies of the application, passed in by `main.ts` or a test. */
export interface AppDeps {
  registry: Registry;
  tokens: UploadTokens;
  logger: Logger;
  instanceId: string;
  options: HttpOptions;
  authorizer?: Authorizer;
  /** Extra routes (e.g. the token endpoint), tried before the registry API. */
  extraRoutes?: import("./routes.ts").Route[];
}

/** One request on its way through a handler. */
export interface Ctx {
  request: Request;
  url: URL;
  /** Path parameters of the matched route (`name`, `reference`, `digest`, `uuid`). */
  params: Record<string, string>;
  /** The repository name, validated, for repository routes; "" otherwise. */
  repo: string;
  requestId: string;
  /** The client's address (for throttling and logs). */
  client: string;
  access: Access;
  deps: AppDeps;
}
