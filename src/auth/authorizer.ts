/**
 * @module
 * The two ways a request proves who it is: HTTP Basic against the htpasswd users, or a
 * Bearer token (from Berth's own token server or an external one). Both end in an
 * {@linkcode Access} that answers for the rest of the request, and both refuse with the
 * challenge clients need: `Basic realm=...`, or `Bearer realm=...,service=...,scope=...`
 * naming exactly the scope the request lacks.
 */
import type { Access, Action, Authorizer, Scope } from "../access.ts";
import { RegistryError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Htpasswd } from "./htpasswd.ts";
import type { Policy } from "./policy.ts";
import { allows, formatScope } from "./scope.ts";
import type { Throttle } from "./throttle.ts";
import type { TokenClaims, Verify } from "./tokens.ts";

/** Credentials of a `Basic` header, or null when the header is not Basic. */
export function basicCredentials(header: string | null): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
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

function unauthorized(challenge: string, message: string): RegistryError {
  return new RegistryError("UNAUTHORIZED", message, { headers: { "WWW-Authenticate": challenge } });
}

/** Access decided by the policy for one subject. */
function policyAccess(policy: Policy, subject: string | null): Access {
  return {
    subject,
    can: (name: string, action: Action) =>
      Promise.resolve(policy.actions(subject, name).has(action)),
    canListCatalog: () => Promise.resolve(policy.canListCatalog(subject)),
  };
}

function satisfied(access: Access, needed: Scope[]): Promise<boolean> {
  return needed.reduce(async (ok, scope) => {
    if (!await ok) return false;
    if (scope.type === "registry") return access.canListCatalog();
    for (const action of scope.actions) if (!await access.can(scope.name, action)) return false;
    return true;
  }, Promise.resolve(true));
}

/** HTTP Basic against htpasswd users, rights from the policy. */
export class BasicAuthorizer implements Authorizer {
  constructor(
    private readonly users: Htpasswd,
    private readonly policy: Policy,
    private readonly realm: string,
    private readonly throttle: Throttle,
    private readonly logger: Logger,
  ) {}

  async authorize(request: Request, needed: Scope[], client: string): Promise<Access> {
    const challenge = `Basic realm="${this.realm}", charset="UTF-8"`;
    let header = request.headers.get("authorization");
    // Some clients answer a Basic challenge with empty credentials (`Basic Og==`) when
    // they have none: that is an anonymous request.
    const given = basicCredentials(header);
    if (given && given.user === "" && given.password === "") header = null;
    let subject: string | null = null;
    if (header) {
      this.throttle.check(client);
      const creds = basicCredentials(header);
      if (!creds || !await this.users.verify(creds.user, creds.password)) {
        this.throttle.fail(client);
        this.logger.warn("login failed", { user: creds?.user ?? null, client, scheme: "basic" });
        throw unauthorized(challenge, "Invalid user name or password");
      }
      subject = creds.user;
    }
    const access = policyAccess(this.policy, subject);
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

/** Options of {@linkcode BearerAuthorizer}. */
export interface BearerOptions {
  verify: Verify;
  service: string;
  /** The token endpoint named in challenges; a function of the request for the built-in one. */
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
    this.o.throttle.check(client);
    let claims: TokenClaims;
    try {
      claims = await this.o.verify(m[1]);
      if (claims.typ === "refresh") throw new Error("a refresh token is not an access token");
    } catch (err) {
      this.o.throttle.fail(client);
      this.o.logger.warn("token rejected", { client, reason: (err as Error).message });
      throw unauthorized(this.#challenge(request, needed, "invalid_token"), "The token is invalid");
    }
    const subject = claims.sub || null;
    const entries = Array.isArray(claims.access) ? claims.access : [];
    const granted = (type: string, name: string) =>
      entries.filter((e) => e?.type === type && e?.name === name && Array.isArray(e.actions))
        .flatMap((e) => e.actions);
    const fromPolicy = this.o.policy ? policyAccess(this.o.policy, subject) : null;
    const access: Access = {
      subject,
      can: async (name, action) =>
        allows(granted("repository", name), action) ||
        (fromPolicy !== null && await fromPolicy.can(name, action)),
      canListCatalog: () => Promise.resolve(allows(granted("registry", "catalog"), "*")),
    };
    // The token must carry every scope the request needs, whatever the policy says.
    const tokenOnly: Access = {
      subject,
      can: (name, action) => Promise.resolve(allows(granted("repository", name), action)),
      canListCatalog: access.canListCatalog,
    };
    if (!await satisfied(tokenOnly, needed)) {
      throw unauthorized(
        this.#challenge(request, needed, "insufficient_scope"),
        `The token does not grant ${describe(needed)}`,
      );
    }
    return access;
  }
}

function describe(needed: Scope[]): string {
  return needed.map(formatScope).join(" ") || "this";
}
