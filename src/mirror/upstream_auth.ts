/**
 * @module
 * How a mirror authenticates to its upstream, learned from the upstream's own
 * challenges: nothing (anonymous), HTTP Basic with the configured credentials, or the
 * Docker token flow (`WWW-Authenticate: Bearer realm=..,service=..,scope=..`: a token per
 * repository scope from the realm, with the credentials when configured). Tokens are
 * cached until shortly before they expire; a 401 drops the token it was sent with.
 *
 * Credentials go only where the upstream sends them: Basic to the upstream's own origin,
 * the token request to the realm its challenge names (never from https down to http).
 * Tokens go only to the upstream's origin ({@linkcode Upstream} strips them on redirects).
 */
import type { Logger } from "../log.ts";
import type { ByteCounter } from "./upstream_read.ts";
import { readUpstreamJson } from "./upstream_read.ts";
import { UpstreamError } from "./upstream_error.ts";

/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** The challenges of a `WWW-Authenticate` header (`Basic realm="x", Bearer realm="y",...`). */
export function parseChallenges(header: string | null): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  const re = /([A-Za-z][\w-]*)(?:\s+((?:[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*))?/g;
  for (const m of header.matchAll(re)) {
    const params: Record<string, string> = {};
    for (const p of (m[2] ?? "").matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
      params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
    }
    out.push({ scheme: m[1].toLowerCase(), params });
  }
  return out;
}

/** A token and until when it may be used (ms since the epoch). */
interface CachedToken {
  token: string;
  until: number;
}

/** What {@linkcode UpstreamAuth} needs. */
export interface UpstreamAuthOptions {
  /** The upstream's origin. */
  origin: string;
  username?: string;
  password?: string;
  timeoutMs: number;
  logger: Logger;
  /** Sends a request without authentication handling (token requests, counted). */
  send(url: string, init: RequestInit): Promise<Response>;
  count: ByteCounter;
}

/** Largest token answer read. */
const MAX_TOKEN_BYTES = 1 << 20;
/** Tokens without `expires_in` last 60 s (the token specification's default). */
const DEFAULT_TOKEN_SECONDS = 60;

/** The authentication state of one upstream. */
export class UpstreamAuth {
  readonly #o: UpstreamAuthOptions;
  /** What the upstream asked for, once it challenged. */
  #scheme: "unknown" | "basic" | "bearer" = "unknown";
  #bearer: { realm: string; service?: string } | null = null;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #fetching = new Map<string, Promise<string | null>>();

  constructor(options: UpstreamAuthOptions) {
    this.#o = options;
  }

  get #basic(): string | null {
    const { username, password } = this.#o;
    return username === undefined ? null : `Basic ${btoa(`${username}:${password ?? ""}`)}`;
  }

  /** The `Authorization` header for a request needing `scope`, or null for none. */
  async header(scope: string): Promise<string | null> {
    if (this.#scheme === "basic") return this.#basic;
    if (this.#scheme !== "bearer") return null;
    const cached = this.#tokens.get(scope);
    if (cached && cached.until > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.#token(scope, scope);
    return token ? `Bearer ${token}` : null;
  }

  /**
   * Learns from a 401's challenge to a request sent with `sent` (an `Authorization` value
   * or null), dropping the token it carried. True when a retry may succeed.
   */
  async challenged(header: string | null, scope: string, sent: string | null): Promise<boolean> {
    const refused = this.#tokens.get(scope);
    if (refused && sent === `Bearer ${refused.token}`) this.#tokens.delete(scope);
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer) {
      this.#scheme = "bearer";
      this.#bearer = { realm: bearer.params.realm, service: bearer.params.service };
      // A request that raced this one may have fetched a new token already.
      const current = this.#tokens.get(scope);
      if (current && current.until > Date.now() && sent !== `Bearer ${current.token}`) return true;
      // The challenge's own scope says what this request needs; the cache is per repository.
      return (await this.#token(scope, bearer.params.scope ?? scope)) !== null;
    }
    if (challenges.some((c) => c.scheme === "basic") && this.#basic) {
      const retry = this.#scheme !== "basic";
      this.#scheme = "basic";
      return retry;
    }
    return false;
  }

  /** A token for `scope` from the realm (one request at a time per scope). */
  #token(key: string, scope: string): Promise<string | null> {
    const pending = this.#fetching.get(key);
    if (pending) return pending;
    const request = this.#requestToken(key, scope).finally(() => {
      if (this.#fetching.get(key) === request) this.#fetching.delete(key);
    });
    this.#fetching.set(key, request);
    return request;
  }

  async #requestToken(key: string, scope: string): Promise<string | null> {
    const bearer = this.#bearer;
    if (!bearer) return null;
    let realm: URL;
    try {
      realm = new URL(bearer.realm);
    } catch {
      throw new UpstreamError("invalid", `The upstream's token realm "${bearer.realm}" is no URL`);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new UpstreamError("invalid", `The upstream's token realm "${bearer.realm}" is no URL`);
    }
    if (bearer.service) realm.searchParams.set("service", bearer.service);
    for (const s of scope.split(" ").filter(Boolean)) realm.searchParams.append("scope", s);
    const headers: Record<string, string> = { Accept: "application/json" };
    // Never send the password from an https upstream to a plain-http realm.
    const downgrade = new URL(this.#o.origin).protocol === "https:" && realm.protocol === "http:";
    if (this.#basic && !downgrade) headers.Authorization = this.#basic;
    if (this.#basic && downgrade) {
      this.#o.logger.warn("mirror: not sending credentials to a plain-http token realm", {
        realm: realm.origin,
      });
    }
    const issued = Date.now();
    const res = await this.#o.send(realm.href, { method: "GET", headers });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new UpstreamError(
        "status",
        `The upstream's token server answered ${res.status} for scope "${scope}"`,
        { status: res.status },
      );
    }
    const body = await readUpstreamJson<
      { token?: string; access_token?: string; expires_in?: number }
    >(res, MAX_TOKEN_BYTES, this.#o.timeoutMs, this.#o.count);
    const token = body.token ?? body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new UpstreamError("invalid", "The upstream's token server sent no token");
    }
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0
      ? body.expires_in
      : DEFAULT_TOKEN_SECONDS;
    // Renewed a little early, so a token never expires on the way.
    const margin = Math.min(10_000, seconds * 100);
    this.#tokens.set(key, { token, until: issued + seconds * 1000 - margin });
    return token;
  }
}
