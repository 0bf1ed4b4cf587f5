/**
 * @module
 * The one entry of access control: {@linkcode createAuth} turns the `auth:` section into
 * the {@linkcode Authorizer} `src/app.ts` consults and the extra routes (the built-in
 * token server) it serves. No `auth:` section: everyone may do everything.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { type Authorizer, openAccess } from "../access.ts";
import type { Logger } from "../log.ts";
import type { Route } from "../http/route.ts";
import { BasicAuthorizer, BearerAuthorizer } from "./authorizer.ts";
import { readAuthConfig, type TokenSettings } from "./config.ts";
import type { FileAccess } from "./htpasswd.ts";
import { createVerifier } from "./jwt_verify.ts";
import { loadSigningKey } from "./signing_key.ts";
import { Throttle } from "./throttle.ts";
import { tokenRoutes } from "./token_server.ts";

/** What {@linkcode createAuth} needs besides the configuration. */
export interface AuthDeps {
  /** The metadata store, where the built-in token server keeps its signing key. */
  store: MetadataStore;
  logger: Logger;
  /** `http.host` without a trailing slash, for the built-in token server's realm. */
  baseUrl?: string;
  /** File access (tests); Deno's by default. */
  fs?: FileAccess;
}

/** The authorizer and extra routes (token server) `auth` describes. */
export async function createAuth(
  auth: Record<string, unknown> | undefined,
  deps: AuthDeps,
): Promise<{ authorizer: Authorizer; routes: Route[] }> {
  if (auth === undefined) return { authorizer: openAccess, routes: [] };
  const settings = await readAuthConfig(auth, { fs: deps.fs, logger: deps.logger });
  const throttle = new Throttle();
  const logger = deps.logger;
  switch (settings.mechanism) {
    case "htpasswd":
      return {
        authorizer: new BasicAuthorizer({ ...settings, throttle, logger }),
        routes: [],
      };
    case "token":
      return {
        authorizer: new BearerAuthorizer({
          verify: createVerifier(settings.keys, {
            issuer: settings.issuer,
            audience: settings.service,
            algorithms: settings.algorithms,
          }),
          service: settings.service,
          realm: externalRealm(settings),
          throttle,
          logger,
        }),
        routes: [],
      };
    case "builtin": {
      const key = await loadSigningKey(deps.store);
      const verify = createVerifier({ jwks: key.jwks }, {
        issuer: settings.issuer,
        audience: settings.service,
        algorithms: ["ES256"],
      });
      const fixed = settings.realm;
      return {
        authorizer: new BearerAuthorizer({
          verify,
          service: settings.service,
          realm: (request) => fixed ?? `${deps.baseUrl ?? new URL(request.url).origin}/token`,
          policy: settings.policy,
          throttle,
          logger,
        }),
        routes: tokenRoutes({ ...settings, key, verify, throttle, logger }),
      };
    }
  }
}

/**
 * The realm of an external token server: fixed, or with `autoredirect` the configured
 * path on the host the client used (distribution's behaviour, `X-Forwarded-Proto` or
 * https for the scheme).
 */
function externalRealm(settings: TokenSettings): (request: Request) => string {
  if (settings.realm !== null) {
    const realm = settings.realm;
    return () => realm;
  }
  const path = settings.autoRedirectPath!;
  return (request) => {
    const proto = request.headers.get("x-forwarded-proto");
    const host = request.headers.get("host") ?? new URL(request.url).host;
    const scheme = proto === "http" || proto === "https" ? proto : "https";
    // Only a plain host[:port] goes into the challenge (it is a quoted header value).
    const safeHost = /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : new URL(request.url).host;
    return `${scheme}://${safeHost}${path}`;
  };
}
