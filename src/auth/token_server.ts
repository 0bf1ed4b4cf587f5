/**
 * @module
 * Berth's built-in token server (Docker token spec):
 *
 * - `GET /token?service=&scope=...` with optional Basic credentials (none: anonymous,
 *   granted only what the policy grants anonymous callers), `offline_token=true` for a
 *   refresh token;
 * - `POST /token`, the OAuth2 form (`grant_type=password` with `username`/`password`, or
 *   `grant_type=refresh_token`; `access_type=offline` asks for a refresh token);
 * - `GET /token/jwks.json`, the public keys, for other instances and other registries.
 *
 * Granted scopes are what was asked intersected with what the policy allows the caller.
 * Refresh tokens live 30 days and carry a fingerprint of the user's password hash, so a
 * new password or a removed account ends them. With `refreshTokens` off
 * (`auth.builtin.refreshtokens: false`) password grants never carry one, and a refresh
 * grant is answered 400 `UNSUPPORTED`, whatever token it offers: the grant type is not
 * served, so the token is not even verified, and no failure is counted against the client.
 */
import type { Scope } from "../access.ts";
import { HttpError } from "../http/http_error.ts";
import { json, readBounded } from "../http/responses.ts";
import type { Ctx, Route } from "../http/route.ts";
import type { Logger } from "../log.ts";
import { basicCredentials, loggable } from "./authorizer.ts";
import type { Users } from "./htpasswd.ts";
import type { Verify } from "./jwt_verify.ts";
import type { Policy } from "./policy.ts";
import { formatScope, parseScopes } from "./scope.ts";
import { type SigningKey, signToken } from "./signing_key.ts";
import type { Throttle } from "./throttle.ts";

/** What the token server needs. */
export interface TokenServerOptions {
  users: Users;
  policy: Policy;
  key: SigningKey;
  /** Verifies tokens this server signed (for refresh tokens). */
  verify: Verify;
  issuer: string;
  service: string;
  /** Access token lifetime in seconds. */
  expiration: number;
  /** Whether refresh tokens are issued and accepted. */
  refreshTokens: boolean;
  throttle: Throttle;
  logger: Logger;
}

/** Refresh tokens live this long (seconds). */
const REFRESH_TTL = 30 * 24 * 3600;
/** The largest OAuth2 form accepted. */
const MAX_FORM = 64 * 1024;
/** Path of the public keys. */
export const JWKS_PATH = "/token/jwks.json";

const noStore = { "Cache-Control": "no-store", "Pragma": "no-cache" };

function badRequest(message: string): HttpError {
  return new HttpError("UNSUPPORTED", message, { status: 400 });
}

/** The routes of the token server. */
export function tokenRoutes(o: TokenServerOptions): Route[] {
  const refused = (message: string) =>
    new HttpError("UNAUTHORIZED", message, {
      headers: { "WWW-Authenticate": `Basic realm="${o.service}", charset="UTF-8"` },
    });

  const login = async (user: string, password: string, client: string): Promise<string> => {
    o.throttle.check(client);
    if (!await o.users.verify(user, password)) {
      o.throttle.fail(client);
      o.logger.warn("login failed", { user: loggable(user), client, scheme: "token" });
      throw refused("Invalid user name or password");
    }
    return user;
  };

  const refresh = async (token: string, client: string): Promise<string> => {
    o.throttle.check(client);
    const claims = await o.verify(token).catch(() => null);
    const user = typeof claims?.sub === "string" ? claims.sub : "";
    const current = user ? await o.users.fingerprint(user) : null;
    if (!claims || claims.typ !== "refresh" || current === null || claims.pwd !== current) {
      o.throttle.fail(client);
      o.logger.warn("refresh refused", { user: loggable(user || null), client });
      throw refused("The refresh token is invalid or no longer valid");
    }
    return user;
  };

  const answer = async (
    ctx: Ctx,
    subject: string | null,
    scopes: Scope[],
    refreshToken: string | null,
  ): Promise<Response> => {
    const access = o.policy.grant(subject, scopes);
    const { token, issuedAt } = await signToken(o.key, {
      issuer: o.issuer,
      audience: o.service,
      subject,
      ttl: o.expiration,
      claims: { access },
    });
    o.logger.info("token issued", {
      user: subject,
      client: ctx.client,
      scope: access.map((a) => formatScope(a)).join(" "),
    });
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: o.expiration,
      issued_at: issuedAt.toISOString(),
    };
    if (refreshToken !== null) body.refresh_token = refreshToken;
    return json(body, 200, noStore);
  };

  const newRefreshToken = async (subject: string): Promise<string> =>
    (await signToken(o.key, {
      issuer: o.issuer,
      audience: o.service,
      subject,
      ttl: REFRESH_TTL,
      claims: { typ: "refresh", pwd: await o.users.fingerprint(subject) },
    })).token;

  const checkService = (service: string | null) => {
    if (service !== null && service !== o.service) {
      throw badRequest(`This token server serves "${o.service}", not "${service}"`);
    }
  };

  const get = async (ctx: Ctx): Promise<Response> => {
    const q = ctx.url.searchParams;
    checkService(q.get("service"));
    const header = ctx.request.headers.get("authorization");
    const creds = basicCredentials(header);
    let subject: string | null = null;
    if (header && !(creds?.user === "" && creds.password === "")) {
      if (!creds) {
        o.throttle.check(ctx.client);
        o.throttle.fail(ctx.client);
        throw refused("Only Basic credentials are accepted here");
      }
      subject = await login(creds.user, creds.password, ctx.client);
    }
    const offline = o.refreshTokens && q.get("offline_token") === "true" && subject !== null;
    return answer(
      ctx,
      subject,
      parseScopes(q.getAll("scope")),
      offline ? await newRefreshToken(subject!) : null,
    );
  };

  const post = async (ctx: Ctx): Promise<Response> => {
    const form = new URLSearchParams(
      new TextDecoder().decode(
        await readBounded(ctx.request, MAX_FORM, "token request", "SIZE_INVALID"),
      ),
    );
    checkService(form.get("service"));
    const scopes = parseScopes(form.getAll("scope"));
    switch (form.get("grant_type")) {
      case "password": {
        const subject = await login(
          form.get("username") ?? "",
          form.get("password") ?? "",
          ctx.client,
        );
        const offline = o.refreshTokens && form.get("access_type") === "offline";
        return answer(ctx, subject, scopes, offline ? await newRefreshToken(subject) : null);
      }
      case "refresh_token": {
        if (!o.refreshTokens) {
          o.logger.info("refresh refused: refresh tokens are turned off", { client: ctx.client });
          throw badRequest(
            "Refresh tokens are turned off on this registry (auth.builtin.refreshtokens: " +
              "false): sign in again with a user name and password",
          );
        }
        const given = form.get("refresh_token") ?? "";
        const subject = await refresh(given, ctx.client);
        return answer(ctx, subject, scopes, given);
      }
      default:
        throw badRequest("grant_type must be password or refresh_token");
    }
  };

  return [
    {
      name: "token-jwks",
      pattern: /^\/token\/jwks\.json$/,
      methods: { GET: () => Promise.resolve(json(o.key.jwks)) },
      access: "none",
    },
    {
      name: "token",
      pattern: /^\/token\/?$/,
      methods: { GET: get, POST: post },
      access: "none",
    },
  ];
}
