/**
 * @module
 * The `auth:` section, validated and loaded (htpasswd file, certificate bundle, JWKS file)
 * into typed settings. Exactly one mechanism is chosen:
 *
 * ```yaml
 * auth:
 *   htpasswd: { realm, path }                        # HTTP Basic (distribution's keys)
 *   token: { realm, service, issuer,                 # an external token server
 *            rootcertbundle and/or jwks,             #   (distribution's keys)
 *            autoredirect, autoredirectpath, signingalgorithms }
 *   builtin: { realm, service, issuer,               # with htpasswd: Berth's token server
 *              expiration, refreshtokens }
 *   policy: { groups, rules, catalog }               # with htpasswd or builtin
 * ```
 *
 * Every mistake is a `ConfigError` naming the setting: Berth never starts open because
 * an auth setting was misread, missing or misspelt.
 */
import { ConfigError } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import { parseBundle } from "./cert_chain.ts";
import { type FileAccess, HtpasswdFile } from "./htpasswd.ts";
import { ASYMMETRIC_ALGORITHMS, type KeySources } from "./jwt_verify.ts";
import { Policy } from "./policy.ts";

/** HTTP Basic against htpasswd users. */
export interface BasicSettings {
  mechanism: "htpasswd";
  realm: string;
  users: HtpasswdFile;
  policy: Policy;
}

/** Bearer tokens of an external token server. */
export interface TokenSettings {
  mechanism: "token";
  /** The token server's URL, or null with `autoredirect`. */
  realm: string | null;
  /** With `autoredirect`: the path on the request's own host that challenges name. */
  autoRedirectPath: string | null;
  service: string;
  issuer: string;
  keys: KeySources;
  algorithms: string[];
}

/** Berth's own token server over htpasswd users. */
export interface BuiltinSettings {
  mechanism: "builtin";
  /** The token endpoint named in challenges; null: `<http.host or origin>/token`. */
  realm: string | null;
  service: string;
  issuer: string;
  /** Access token lifetime in seconds. */
  expiration: number;
  /**
   * Whether password grants that ask for one get a refresh token (and refresh grants are
   * served); default true.
   */
  refreshTokens: boolean;
  users: HtpasswdFile;
  policy: Policy;
}

/** One mechanism, ready to build. */
export type AuthSettings = BasicSettings | TokenSettings | BuiltinSettings;

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
/** True for values that may go into a `WWW-Authenticate` quoted string. */
function headerSafe(value: string): boolean {
  return [...value].every((c) => c !== '"' && c !== "\\" && c >= " " && c !== "\x7f");
}

function section(auth: Doc, name: string, keys: string[]): Doc | undefined {
  const value = auth[name];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new ConfigError(`auth.${name}`, "must be a mapping");
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new ConfigError(`auth.${name}.${key}`, `is not a known setting (${keys.join(", ")})`);
    }
  }
  return value;
}

function text(doc: Doc, key: string, setting: string, fallback?: string): string {
  const value = doc[key] ?? fallback;
  if (value === undefined || value === "") throw new ConfigError(setting, "is required");
  if (typeof value !== "string") throw new ConfigError(setting, "must be a string");
  return value;
}

/** A string that may appear in a challenge header. */
function quotable(doc: Doc, key: string, setting: string, fallback?: string): string {
  const value = text(doc, key, setting, fallback);
  if (!headerSafe(value)) {
    throw new ConfigError(setting, `must not hold quotes, backslashes or control characters`);
  }
  return value;
}

function url(doc: Doc, key: string, setting: string): string {
  const value = quotable(doc, key, setting);
  if (!/^https?:\/\/[^/]/.test(value) || !URL.canParse(value)) {
    throw new ConfigError(setting, `must be an http(s) URL, got "${value}"`);
  }
  return value;
}

function bool(doc: Doc, key: string, setting: string): boolean {
  const value = doc[key];
  if (value === undefined || value === false || value === "false") return false;
  if (value === true || value === "true") return true;
  throw new ConfigError(setting, `must be true or false, got ${JSON.stringify(value)}`);
}

async function readFile(fs: FileAccess, path: string, setting: string): Promise<string> {
  try {
    return await fs.readTextFile(path);
  } catch (err) {
    throw new ConfigError(setting, `"${path}" cannot be read: ${(err as Error).message}`);
  }
}

/** Validates `auth` and loads the files it names. */
export async function readAuthConfig(
  auth: Doc,
  options: { fs?: FileAccess; logger?: Logger } = {},
): Promise<AuthSettings> {
  const fs = options.fs ?? Deno;
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
    "autoredirectpath",
    "signingalgorithms",
  ]);
  const builtin = section(auth, "builtin", [
    "realm",
    "service",
    "issuer",
    "expiration",
    "refreshtokens",
  ]);

  if (token) {
    if (htpasswd || builtin) {
      throw new ConfigError(
        "auth",
        "token (an external token server) cannot be combined with htpasswd or builtin",
      );
    }
    if (auth.policy !== undefined && auth.policy !== null) {
      throw new ConfigError(
        "auth.policy",
        "does not apply to an external token server, which decides access itself",
      );
    }
    return await readToken(token, fs);
  }
  if (!htpasswd) {
    throw new ConfigError("auth", "needs htpasswd (with or without builtin) or token");
  }
  const path = text(htpasswd, "path", "auth.htpasswd.path");
  let users: HtpasswdFile;
  try {
    users = await HtpasswdFile.open(path, fs, options.logger);
  } catch (err) {
    throw new ConfigError("auth.htpasswd.path", (err as Error).message);
  }
  const policy = auth.policy === undefined || auth.policy === null
    ? Policy.open()
    : Policy.parse(auth.policy, users.names);
  if (!builtin) {
    const realm = quotable(htpasswd, "realm", "auth.htpasswd.realm", "Berth");
    return { mechanism: "htpasswd", realm, users, policy };
  }
  const raw = builtin.expiration ?? 300;
  const expiration = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (
    typeof expiration !== "number" || !Number.isInteger(expiration) || expiration < 30 ||
    expiration > 86400
  ) {
    throw new ConfigError(
      "auth.builtin.expiration",
      `must be a whole number of seconds from 30 to 86400, got ${JSON.stringify(raw)}`,
    );
  }
  return {
    mechanism: "builtin",
    realm: builtin.realm === undefined ? null : url(builtin, "realm", "auth.builtin.realm"),
    service: quotable(builtin, "service", "auth.builtin.service", "berth"),
    issuer: text(builtin, "issuer", "auth.builtin.issuer", "berth"),
    expiration,
    refreshTokens: builtin.refreshtokens === undefined || builtin.refreshtokens === null ||
      bool(builtin, "refreshtokens", "auth.builtin.refreshtokens"),
    users,
    policy,
  };
}

async function readToken(token: Doc, fs: FileAccess): Promise<TokenSettings> {
  const autoRedirect = bool(token, "autoredirect", "auth.token.autoredirect");
  let autoRedirectPath: string | null = null;
  if (autoRedirect) {
    autoRedirectPath = quotable(
      token,
      "autoredirectpath",
      "auth.token.autoredirectpath",
      "/auth/token",
    );
    if (!autoRedirectPath.startsWith("/")) {
      throw new ConfigError("auth.token.autoredirectpath", "must start with /");
    }
  }
  const realm = autoRedirect ? null : url(token, "realm", "auth.token.realm");
  const service = quotable(token, "service", "auth.token.service");
  const issuer = text(token, "issuer", "auth.token.issuer");

  const keys: KeySources = {};
  if (token.rootcertbundle !== undefined) {
    const path = text(token, "rootcertbundle", "auth.token.rootcertbundle");
    try {
      keys.certificates = parseBundle(await readFile(fs, path, "auth.token.rootcertbundle"));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError("auth.token.rootcertbundle", `"${path}": ${(err as Error).message}`);
    }
    if (!keys.certificates.length) {
      throw new ConfigError("auth.token.rootcertbundle", `"${path}" holds no certificate`);
    }
  }
  if (token.jwks !== undefined) {
    const jwks = text(token, "jwks", "auth.token.jwks");
    if (jwks.includes("://")) {
      if (!/^https?:\/\/[^/]/.test(jwks) || !URL.canParse(jwks)) {
        throw new ConfigError("auth.token.jwks", `"${jwks}" is not an http(s) URL`);
      }
      keys.jwksUrl = jwks;
    } else {
      const body = await readFile(fs, jwks, "auth.token.jwks");
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch (err) {
        throw new ConfigError(
          "auth.token.jwks",
          `"${jwks}" is not JSON: ${(err as Error).message}`,
        );
      }
      const list = isObject(parsed) ? parsed.keys : undefined;
      if (!Array.isArray(list) || !list.length || !list.every(isObject)) {
        throw new ConfigError("auth.token.jwks", `"${jwks}" is not a JWKS with keys`);
      }
      keys.jwks = { keys: list };
    }
  }
  if (!keys.certificates && !keys.jwks && !keys.jwksUrl) {
    throw new ConfigError("auth.token", "needs rootcertbundle or jwks (the token server's keys)");
  }

  let algorithms = [...ASYMMETRIC_ALGORITHMS];
  const listed = token.signingalgorithms;
  if (listed !== undefined) {
    const names = typeof listed === "string" ? listed.split(/[\s,]+/).filter(Boolean) : listed;
    if (!Array.isArray(names) || !names.length || names.some((n) => typeof n !== "string")) {
      throw new ConfigError("auth.token.signingalgorithms", "must be a list of algorithm names");
    }
    for (const name of names) {
      if (!ASYMMETRIC_ALGORITHMS.includes(name)) {
        throw new ConfigError(
          "auth.token.signingalgorithms",
          `has "${name}": only asymmetric algorithms are accepted (${
            ASYMMETRIC_ALGORITHMS.join(", ")
          })`,
        );
      }
    }
    algorithms = names as string[];
  }
  return {
    mechanism: "token",
    realm,
    autoRedirectPath,
    service,
    issuer,
    keys,
    algorithms,
  };
}
