/**
 * @module
 * Who is looking at a page, and what they may see. The UI signs people in itself (a form,
 * then a session cookie) against the users of the `auth:` section, and asks the same
 * access policy as the registry API: a page shows only what its visitor may pull, and
 * offers deletes only to those who may delete.
 *
 * - No `auth:` section: everyone may do everything, as on the API; there is no sign-in.
 * - `htpasswd` (with or without `builtin`): the sign-in form checks the htpasswd users;
 *   rights come from `auth.policy`; anonymous visitors get what the policy grants them.
 * - `token` (an external token server): that server decides access and Berth knows no
 *   users, so the UI cannot sign anyone in and shows nothing.
 *
 * The auth modules (bcrypt, jose) are loaded only when `auth:` is configured, as the
 * runtime does: an open registry stays light.
 */
import type { Access } from "../access.ts";
import type { Users } from "../auth/htpasswd.ts";
import type { Policy } from "../auth/policy.ts";
import {
  CSRF_COOKIE,
  randomBinding,
  readCookie,
  SESSION_COOKIE,
  type Sessions,
  setCookie,
} from "./session.ts";

/** How visitors sign in. */
export type SignInMode = "open" | "form" | "external";

/** The visitor of one request. */
export interface Visitor {
  /** User name, or null for anonymous. */
  readonly subject: string | null;
  /** Rights, from the access policy. */
  readonly access: Access;
  readonly mode: SignInMode;
  /** The CSRF token for this visitor's forms (sets a binding cookie when there is none). */
  csrf(): Promise<string>;
  /** `Set-Cookie` values the response must carry. */
  readonly cookies: string[];
}

const EVERYTHING: Access = {
  subject: null,
  can: () => Promise.resolve(true),
  canListCatalog: () => Promise.resolve(true),
};

const NOTHING: Access = {
  subject: null,
  can: () => Promise.resolve(false),
  canListCatalog: () => Promise.resolve(false),
};

/** What the auth modules lend the UI once loaded. */
interface AuthParts {
  users: Users;
  policy: Policy;
  policyAccess: (policy: Policy, subject: string | null) => Access;
  loggable: (name: string) => string | null;
}

/** The UI's side of access control. */
export class UiAuth {
  private constructor(
    readonly mode: SignInMode,
    private readonly sessions: Sessions,
    private readonly parts: AuthParts | null,
  ) {}

  /** From the `auth:` section as written (validated again by `readAuthConfig`). */
  static async create(
    auth: Record<string, unknown> | undefined,
    sessions: Sessions,
  ): Promise<UiAuth> {
    if (auth === undefined) return new UiAuth("open", sessions, null);
    const [{ readAuthConfig }, { policyAccess, loggable }] = await Promise.all([
      import("../auth/config.ts"),
      import("../auth/authorizer.ts"),
    ]);
    const settings = await readAuthConfig(auth);
    if (settings.mechanism === "token") return new UiAuth("external", sessions, null);
    return new UiAuth("form", sessions, {
      users: settings.users,
      policy: settings.policy,
      policyAccess,
      loggable: (name) => loggable(name),
    });
  }

  /** A client-chosen user name as it may appear in a log line. */
  loggable(name: string): string | null {
    return this.parts ? this.parts.loggable(name) : name.slice(0, 100);
  }

  /** How long a sign-in lasts. */
  get sessionTtlMs(): number {
    return this.sessions.ttlMs;
  }

  /** The visitor of `request`; `secure` when it came over TLS. */
  async visitor(request: Request, secure: boolean): Promise<Visitor> {
    const cookies: string[] = [];
    let subject: string | null = null;
    let binding: string | null = null;
    if (this.mode === "form") {
      const value = readCookie(request, SESSION_COOKIE);
      const claims = await this.sessions.read(value);
      if (claims && await this.parts!.users.fingerprint(claims.user) === claims.fingerprint) {
        subject = claims.user;
        binding = value;
      } else if (value) {
        // Expired, forged, or its user's password changed: forget it.
        cookies.push(setCookie(SESSION_COOKIE, "", { maxAgeMs: 0, secure }));
      }
    }
    binding ??= readCookie(request, CSRF_COOKIE);
    const access = this.mode === "open"
      ? EVERYTHING
      : this.mode === "external"
      ? NOTHING
      : this.parts!.policyAccess(this.parts!.policy, subject);
    const sessions = this.sessions;
    return {
      subject,
      access,
      mode: this.mode,
      cookies,
      async csrf() {
        if (!binding) {
          binding = randomBinding();
          cookies.push(setCookie(CSRF_COOKIE, binding, { maxAgeMs: 24 * 3600_000, secure }));
        }
        return await sessions.csrfToken(binding);
      },
    };
  }

  /**
   * True when `token` is the CSRF token of one of the request's binding cookies (the
   * session, or the visitor's CSRF cookie) and the request does not come from another site.
   */
  async checkCsrf(request: Request, token: string | null): Promise<boolean> {
    const site = request.headers.get("sec-fetch-site");
    if (site !== null && site !== "same-origin" && site !== "none") return false;
    const origin = request.headers.get("origin");
    if (origin !== null) {
      const host = request.headers.get("host") ?? new URL(request.url).host;
      if (!URL.canParse(origin) || new URL(origin).host !== host) return false;
    }
    for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
      if (await this.sessions.checkCsrf(readCookie(request, name), token)) return true;
    }
    return false;
  }

  /** A session cookie value when `password` is `user`'s, or null. */
  async signIn(user: string, password: string): Promise<string | null> {
    const users = this.parts?.users;
    if (!users || !user || !await users.verify(user, password)) return null;
    const fingerprint = await users.fingerprint(user);
    return fingerprint === null ? null : await this.sessions.issue(user, fingerprint);
  }
}
