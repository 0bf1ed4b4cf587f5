/**
 * @module
 * The two ways a request proves who it is: HTTP Basic against the htpasswd users, or a
 * Bearer token (from Berth's own token server or an external one). Both end in an
 * {@linkcode Access} that answers for the rest of the request, and both refuse with the
 * challenge clients need: `Basic realm=...`, or `Bearer realm=...,service=...,scope=...`
 * naming exactly the scope the request lacks.
 *
 * A scope with no actions or no repository name can only come from a route-table mistake;
 * it is refused to everyone rather than let through.
 */
import type { Access, Action, Authorizer, Scope } from "../access.ts";
import { RegistryError } from "../errors.ts";
import { HttpError } from "../http/http_error.ts";
import type { Logger } from "../log.ts";
import type { Users } from "./htpasswd.ts";
import { signatureWasValid, type TokenClaims, type Verify } from "./jwt_verify.ts";
import type { Policy } from "./policy.ts";
import { allows, formatScope } from "./scope.ts";
import type { Throttle } from "./throttle.ts";

/** Credentials of a `Basic` header, or null when the header is not Basic or is malformed. */
export function basicCredentials(header: string | null): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(header ?? "");
  if (!m) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * A client-chosen name as it may appear in a log line: control characters replaced and
 * the length bounded, so a crafted user name cannot forge or flood text-format logs.
 */
export function loggable(name: string | null | undefined): string | null {
  if (name === null || name === undefined) return null;
  const clean = [...name].map((c) => c < " " || c === "\x7f" ? "?" : c).join("");
  return clean.length > 100 ? `${clean.slice(0, 100)}...` : clean;
}

function unauthorized(challenge: string, message: string): RegistryError {
  return new HttpError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": challenge } });
}

/** Access decided by the policy for one subject. */
export function policyAccess(policy: Policy, subject: string | null): Access {
  return {
    subject,
    can: (name: string, action: Action) => Promise.resolve(policy.can(subject, name, action)),
    canListCatalog: () => Promise.resolve(policy.canListCatalog(subject)),
  };
}

/** True when `access` covers every scope in `needed`. */
async function satisfied(access: Access, needed: Scope[]): Promise<boolean> {
  for (const scope of needed) {
    if (scope.type === "registry") {
      if (!await access.canListCatalog()) return false;
      continue;
    }
    if (!scope.name || !scope.actions.length) return false; // fail closed, see @module
    for (const action of scope.actions) if (!await access.can(scope.name, action)) return false;
  }
  return true;
}

function describe(needed: Scope[]): string {
  return needed.map(formatScope).join(" ") || "this";
}

/** What {@linkcode BasicAuthorizer} needs. */
export interface BasicOptions {
  users: Users;
  policy: Policy;
  realm: string;
  throttle: Throttle;
  logger: Logger;
}

/** HTTP Basic against htpasswd users, rights from the policy. */
export class BasicAuthorizer implements Authorizer {
  constructor(private readonly o: BasicOptions) {}

  async authorize(request: Request, needed: Scope[], client: string): Promise<Access> {
    const challenge = `Basic realm="${this.o.realm}", charset="UTF-8"`;
    const header = request.headers.get("authorization");
    const creds = basicCredentials(header);
    let subject: string | null = null;
    // Some clients answer a Basic challenge with empty credentials (`Basic Og==`) when
    // they have none: that is an anonymous request.
    if (header && !(creds?.user === "" && creds.password === "")) {
      this.o.throttle.check(client);
      if (!creds || !await this.o.users.verify(creds.user, creds.password)) {
        this.o.throttle.fail(client);
        this.o.logger.warn("login failed", {
          user: loggable(creds?.user),
          client,
          scheme: "basic",
        });
        throw unauthorized(challenge, "Invalid user name or password");
      }
      subject = creds.user;
    }
    const access = policyAccess(this.o.policy, subject);
    // GET /v2/ (no scope) is where clients log in: it needs a signed-in user.
    if (subject === null && needed.length === 0) {
      throw unauthorized(challenge, "Authentication required");
    }
    if (!await satisfied(access, needed)) {
      if (subject === null) throw unauthorized(challenge, "Authentication required");
      throw new RegistryError("DENIED", `${subject} may not ${describe(needed)}`);
    }
    return access;
  }
}

/** What {@linkcode BearerAuthorizer} needs. */
export interface BearerOptions {
  verify: Verify;
  service: string;
  /** The token endpoint named in challenges, as a function of the request. */
  realm: (request: Request) => string;
  /** Berth's own policy when Berth issued the tokens (catalog entries, mount sources). */
  policy?: Policy;
  throttle: Throttle;
  logger: Logger;
}

/** Bearer tokens of the Docker token spec. */
export class BearerAuthorizer implements Authorizer {
  constructor(private readonly o: BearerOptions) {}

  #challenge(request: Request, needed: Scope[], error?: string): string {
    let c = `Bearer realm="${this.o.realm(request)}",service="${this.o.service}"`;
    if (needed.length) c += `,scope="${needed.map(formatScope).join(" ")}"`;
    if (error) c += `,error="${error}"`;
    return c;
  }

  async authorize(request: Request, needed: Scope[], client: string): Promise<Access> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
    if (!m) throw unauthorized(this.#challenge(request, needed), "Authentication required");
    let claims: TokenClaims;
    try {
      claims = await this.o.verify(m[1]);
      if (claims.typ === "refresh") throw new Error("a refresh token is not an access token");
    } catch (err) {
      // Expired tokens are routine (clients fetch a new one); forgeries are counted, and
      // only they: a valid token always passes, whoever else shares the address.
      if (!signatureWasValid(err)) {
        this.o.throttle.check(client);
        this.o.throttle.fail(client);
      }
      this.o.logger.warn("token rejected", { client, reason: (err as Error).message });
      throw unauthorized(this.#challenge(request, needed, "invalid_token"), "The token is invalid");
    }
    const subject = typeof claims.sub === "string" && claims.sub !== "" ? claims.sub : null;
    const entries = Array.isArray(claims.access) ? claims.access : [];
    const granted = (type: string, name: string): string[] =>
      entries.filter((e) =>
        e?.type === type && e?.name === name && Array.isArray(e.actions) &&
        e.actions.every((a: unknown) => typeof a === "string")
      ).flatMap((e) => e.actions);
    // The token must carry every scope the request needs, whatever the policy says.
    const tokenOnly: Access = {
      subject,
      can: (name, action) => Promise.resolve(allows(granted("repository", name), action)),
      canListCatalog: () => Promise.resolve(allows(granted("registry", "catalog"), "*")),
    };
    if (!await satisfied(tokenOnly, needed)) {
      throw unauthorized(
        this.#challenge(request, needed, "insufficient_scope"),
        `The token does not grant ${describe(needed)}`,
      );
    }
    // Checks a handler makes later (mount sources, catalog entries) also consult Berth's
    // policy when Berth issued the token: clients do not ask for scopes on those.
    const policy = this.o.policy;
    if (!policy) return tokenOnly;
    return {
      subject,
      can: async (name, action) =>
        await tokenOnly.can(name, action) || policy.can(subject, name, action),
      canListCatalog: tokenOnly.canListCatalog,
    };
  }
}
