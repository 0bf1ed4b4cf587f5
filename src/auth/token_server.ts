/**
 * @module
 * Berth's built-in token server (Docker token spec): `GET /token?service=&scope=` with
 * optional Basic credentials, the OAuth2 form `POST /token` (`grant_type=password` and
 * `refresh_token`), and the public keys at `GET /token/jwks.json`. Granted scopes are the
 * intersection of what was asked and what the policy allows the caller.
 */
import type { Action, Scope } from "../access.ts";
import type { Ctx } from "../context.ts";
import { RegistryError } from "../errors.ts";
import { json, readBounded } from "../http.ts";
import type { Logger } from "../log.ts";
import type { Route } from "../routes.ts";
import { basicCredentials } from "./authorizer.ts";
import type { Htpasswd } from "./htpasswd.ts";
import type { Policy } from "./policy.ts";
import { type AccessEntry, parseScopes } from "./scope.ts";
import type { Throttle } from "./throttle.ts";
import { issueToken, type SigningKey, type Verify } from "./tokens.ts";

/** What the token server needs. */
export interface TokenServerOptions {
  users: Htpasswd;
  policy: Policy;
  key: SigningKey;
  verify: Verify;
  issuer: string;
  service: string;
  /** Access token lifetime in seconds. */
  expiration: number;
  throttle: Throttle;
  logger: Logger;
}

/** Refresh tokens live this long (seconds). */
const REFRESH_TTL = 30 * 24 * 3600;

/** The routes of the token server. */
export function tokenRoutes(o: TokenServerOptions): Route[] {
  const grant = (subject: string | null, scopes: Scope[]): AccessEntry[] =>
    scopes.flatMap((s): AccessEntry[] => {
      if (s.type === "registry") {
        return s.name === "catalog" && o.policy.canListCatalog(subject)
          ? [{ type: "registry", name: "catalog", actions: ["*"] }]
          : [];
      }
      const allowed = o.policy.actions(subject, s.name);
      const actions = s.actions.includes("*") && allowed.size === 3
        ? ["*"]
        : s.actions.filter((a) => a !== "*" && allowed.has(a as Action));
      return actions.length ? [{ type: "repository", name: s.name, actions }] : [];
    });

  const answer = async (subject: string | null, scopes: Scope[], offline: boolean) => {
    const access = grant(subject, scopes);
    const { token, issuedAt } = await issueToken(o.key, {
      issuer: o.issuer,
      audience: o.service,
      subject,
      ttl: o.expiration,
    }, { access });
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: o.expiration,
      issued_at: issuedAt.toISOString(),
    };
    if (offline && subject !== null) {
      body.refresh_token = (await issueToken(o.key, {
        issuer: o.issuer,
        audience: o.service,
        subject,
        ttl: REFRESH_TTL,
      }, { typ: "refresh" })).token;
    }
    return json(body, 200, { "Cache-Control": "no-store" });
  };

  const login = async (user: string, password: string, client: string) => {
    o.throttle.check(client);
    if (!await o.users.verify(user, password)) {
      o.throttle.fail(client);
      o.logger.warn("login failed", { user, client, scheme: "token" });
      throw new RegistryError("UNAUTHORIZED", "Invalid user name or password", {
        headers: { "WWW-Authenticate": `Basic realm="${o.service}"` },
      });
    }
    return user;
  };

  const clientOf = (ctx: Ctx) => ctx.client;

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
      access: "none",
      methods: {
        GET: async (ctx) => {
          const header = ctx.request.headers.get("authorization");
          let subject: string | null = null;
          if (header) {
            const creds = basicCredentials(header);
            if (!creds) {
              throw new RegistryError("UNAUTHORIZED", "Only Basic credentials are accepted here");
            }
            subject = await login(creds.user, creds.password, clientOf(ctx));
          }
          const q = ctx.url.searchParams;
          return answer(subject, parseScopes(q.getAll("scope")), q.get("offline_token") === "true");
        },
        POST: async (ctx) => {
          const text = new TextDecoder().decode(
            await readBounded(ctx.request, 64 * 1024, "token request", "SIZE_INVALID"),
          );
          const form = new URLSearchParams(text);
          const scopes = parseScopes(form.getAll("scope"));
          const offline = form.get("access_type") === "offline";
          switch (form.get("grant_type")) {
            case "password": {
              const subject = await login(
                form.get("username") ?? "",
                form.get("password") ?? "",
                clientOf(ctx),
              );
              return answer(subject, scopes, offline);
            }
            case "refresh_token": {
              let claims;
              try {
                claims = await o.verify(form.get("refresh_token") ?? "");
              } catch {
                claims = null;
              }
              if (!claims || claims.typ !== "refresh" || !claims.sub) {
                throw new RegistryError("UNAUTHORIZED", "The refresh token is invalid");
              }
              const response = await answer(claims.sub, scopes, false);
              const body = await response.json();
              body.refresh_token = form.get("refresh_token");
              return json(body, 200, { "Cache-Control": "no-store" });
            }
            default:
              throw new RegistryError(
                "UNSUPPORTED",
                "grant_type must be password or refresh_token",
                {
                  status: 400,
                },
              );
          }
        },
      },
    },
  ];
}
