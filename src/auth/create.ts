/**
 * @module
 * Builds access control from the `auth:` section: HTTP Basic (`htpasswd`), tokens of an
 * external token server (`token`), or Berth's built-in token server (`htpasswd` plus
 * `builtin`), each with the optional `policy`. Any mistake is a ConfigError: Berth never
 * starts open because an auth setting was misread.
 */
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { type Authorizer, openAccess } from "../access.ts";
import { ConfigError } from "../config.ts";
import type { Logger } from "../log.ts";
import type { Route } from "../routes.ts";
import { BasicAuthorizer, BearerAuthorizer } from "./authorizer.ts";
import { Htpasswd } from "./htpasswd.ts";
import { Policy } from "./policy.ts";
import { Throttle } from "./throttle.ts";
import { tokenRoutes } from "./token_server.ts";
import { type KeySource, signingKey, splitPem, verifier } from "./tokens.ts";

/** What {@linkcode createAuth} needs besides the configuration. */
export interface AuthDeps {
  store: MetadataStore;
  logger: Logger;
  /** `http.host`, for the built-in token server's realm. */
  baseUrl?: string;
  readTextFile?: (path: string) => Promise<string>;
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

function section(auth: Doc, name: string, keys: string[]): Doc | undefined {
  const value = auth[name];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new ConfigError(`auth.${name}`, "must be a mapping");
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ConfigError(`auth.${name}.${key}`, "is not a known setting");
  }
  return value;
}

function text(doc: Doc, key: string, setting: string, fallback?: string): string {
  const value = doc[key] ?? fallback;
  if (typeof value !== "string" || value === "") throw new ConfigError(setting, "is required");
  return value;
}

/** The authorizer and extra routes (token server) `auth` describes. */
export async function createAuth(
  auth: Doc | undefined,
  deps: AuthDeps,
): Promise<{ authorizer: Authorizer; routes: Route[] }> {
  if (auth === undefined) return { authorizer: openAccess, routes: [] };
  const read = deps.readTextFile ?? Deno.readTextFile;
  for (const key of Object.keys(auth)) {
    if (!["htpasswd", "token", "builtin", "policy"].includes(key)) {
      throw new ConfigError(
        `auth.${key}`,
        "is not a supported mechanism (htpasswd, token, builtin, policy)",
      );
    }
  }
  const htpasswd = section(auth, "htpasswd", ["realm", "path"]);
  const token = section(auth, "token", [
    "realm",
    "service",
    "issuer",
    "rootcertbundle",
    "jwks",
    "autoredirect",
  ]);
  const builtin = section(auth, "builtin", ["realm", "service", "issuer", "expiration"]);
  const throttle = new Throttle();

  let users: Htpasswd | undefined;
  if (htpasswd) {
    const path = text(htpasswd, "path", "auth.htpasswd.path");
    let contents: string;
    try {
      contents = await read(path);
    } catch (err) {
      throw new ConfigError(
        "auth.htpasswd.path",
        `"${path}" cannot be read: ${(err as Error).message}`,
      );
    }
    try {
      users = Htpasswd.parse(contents, path);
    } catch (err) {
      throw new ConfigError("auth.htpasswd.path", (err as Error).message);
    }
    if (users.size === 0) throw new ConfigError("auth.htpasswd.path", `"${path}" has no users`);
  }
  const policy = auth.policy === undefined
    ? Policy.open()
    : Policy.parse(auth.policy, users?.names);

  if (token && (htpasswd || builtin)) {
    throw new ConfigError(
      "auth",
      "token (an external token server) cannot be combined with htpasswd or builtin",
    );
  }
  if (token) {
    const realm = text(token, "realm", "auth.token.realm");
    const service = text(token, "service", "auth.token.service");
    const issuer = text(token, "issuer", "auth.token.issuer");
    if ((token.rootcertbundle === undefined) === (token.jwks === undefined)) {
      throw new ConfigError("auth.token", "needs exactly one of rootcertbundle or jwks");
    }
    let source: KeySource;
    if (token.rootcertbundle !== undefined) {
      const path = text(token, "rootcertbundle", "auth.token.rootcertbundle");
      const pems = splitPem(
        await read(path).catch((err) => {
          throw new ConfigError(
            "auth.token.rootcertbundle",
            `"${path}" cannot be read: ${err.message}`,
          );
        }),
      );
      if (!pems.length) {
        throw new ConfigError("auth.token.rootcertbundle", `"${path}" holds no certificate`);
      }
      source = { kind: "certificates", pems };
    } else {
      const jwks = text(token, "jwks", "auth.token.jwks");
      if (/^https?:\/\//.test(jwks)) {
        source = { kind: "jwks-url", url: jwks };
      } else {
        try {
          source = { kind: "jwks", jwks: JSON.parse(await read(jwks)) };
        } catch (err) {
          throw new ConfigError(
            "auth.token.jwks",
            `"${jwks}" is not a readable JWKS: ${(err as Error).message}`,
          );
        }
      }
    }
    let verify;
    try {
      verify = await verifier(source, issuer, service);
    } catch (err) {
      throw new ConfigError("auth.token", (err as Error).message);
    }
    return {
      authorizer: new BearerAuthorizer({
        verify,
        service,
        realm: () => realm,
        throttle,
        logger: deps.logger,
      }),
      routes: [],
    };
  }
  if (!users) {
    throw new ConfigError("auth", "needs htpasswd users (with or without builtin) or token");
  }
  if (!builtin) {
    const realm = text(htpasswd!, "realm", "auth.htpasswd.realm", "Berth");
    return {
      authorizer: new BasicAuthorizer(users, policy, realm, throttle, deps.logger),
      routes: [],
    };
  }
  const service = text(builtin, "service", "auth.builtin.service", "berth");
  const issuer = text(builtin, "issuer", "auth.builtin.issuer", "berth");
  const expiration = builtin.expiration ?? 300;
  if (
    typeof expiration !== "number" || !Number.isInteger(expiration) || expiration < 30 ||
    expiration > 86400
  ) {
    throw new ConfigError(
      "auth.builtin.expiration",
      "must be a whole number of seconds from 30 to 86400",
    );
  }
  const realmSetting = builtin.realm === undefined
    ? undefined
    : text(builtin, "realm", "auth.builtin.realm");
  const key = await signingKey(deps.store);
  const verify = await verifier({ kind: "jwks", jwks: key.jwks }, issuer, service);
  const realm = (request: Request) =>
    realmSetting ?? `${deps.baseUrl ?? new URL(request.url).origin}/token`;
  return {
    authorizer: new BearerAuthorizer({
      verify,
      service,
      realm,
      policy,
      throttle,
      logger: deps.logger,
    }),
    routes: tokenRoutes({
      users,
      policy,
      key,
      verify,
      issuer,
      service,
      expiration,
      throttle,
      logger: deps.logger,
    }),
  };
}
