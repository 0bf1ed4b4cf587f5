/**
 * @module
 * Sign-in sessions and CSRF tokens of the web UI, both stateless and signed with
 * HMAC-SHA256 under one secret (`http.secret`, or a secret generated once and kept in the
 * metadata store, so every instance of a fleet honours every session).
 *
 * A session cookie holds the user, its expiry and a fingerprint of the user's password
 * hash: a new password or a removed account ends every session at its next request. It is
 * `HttpOnly`, `SameSite=Strict`, and `Secure` when the request came over TLS.
 *
 * A CSRF token is bound to a value only the visitor's browser holds: the session cookie
 * when signed in, otherwise a random `berth_csrf` cookie (set with the first form). Forms
 * carry the token; a POST whose token does not match its cookies is refused.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import { meta } from "../registry/keys.ts";
import { UI } from "./paths.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "berth_session";
/** Name of the cookie that binds the CSRF tokens of visitors who are not signed in. */
export const CSRF_COOKIE = "berth_csrf";

/** What a valid session says. */
export interface SessionClaims {
  user: string;
  /** Milliseconds since the epoch. */
  expires: number;
  /** Of the user's password hash when the session began. */
  fingerprint: string;
}

/** Signs and reads sessions and CSRF tokens. */
export class Sessions {
  #key: Promise<Uint8Array> | null = null;

  /** `secret` is asked once, on first use. */
  constructor(private readonly secret: () => Promise<Uint8Array>, readonly ttlMs: number) {}

  async #mac(purpose: string, text: string): Promise<Buffer> {
    this.#key ??= this.secret();
    return createHmac("sha256", await this.#key).update(`${purpose}\0${text}`).digest();
  }

  /** A cookie value for `user`, valid for the session lifetime from `now`. */
  async issue(user: string, fingerprint: string, now = Date.now()): Promise<string> {
    const payload = Buffer.from(JSON.stringify([user, now + this.ttlMs, fingerprint]))
      .toString("base64url");
    return `${payload}.${(await this.#mac("session", payload)).toString("base64url")}`;
  }

  /** The claims of a cookie value, or null when it is malformed, forged or expired. */
  async read(value: string | null, now = Date.now()): Promise<SessionClaims | null> {
    if (!value || value.length > 2048) return null;
    const dot = value.indexOf(".");
    if (dot < 1) return null;
    const payload = value.slice(0, dot);
    if (!await this.#equal("session", payload, value.slice(dot + 1))) return null;
    try {
      const [user, expires, fingerprint] = JSON.parse(
        Buffer.from(payload, "base64url").toString("utf8"),
      );
      if (typeof user !== "string" || typeof expires !== "number") return null;
      if (typeof fingerprint !== "string" || expires <= now) return null;
      return { user, expires, fingerprint };
    } catch {
      return null;
    }
  }

  /** The CSRF token of forms for a visitor whose binding cookie holds `binding`. */
  async csrfToken(binding: string): Promise<string> {
    return (await this.#mac("csrf", binding)).toString("base64url");
  }

  /** True when `token` is the CSRF token of `binding`. */
  async checkCsrf(binding: string | null, token: string | null): Promise<boolean> {
    if (!binding || !token) return false;
    return await this.#equal("csrf", binding, token);
  }

  async #equal(purpose: string, text: string, mac: string): Promise<boolean> {
    const given = Buffer.from(mac, "base64url");
    const expected = await this.#mac(purpose, text);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** A fresh random value for the {@linkcode CSRF_COOKIE}. */
export function randomBinding(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64url");
}

/**
 * The UI's secret: derived from `http.secret` when it is set, otherwise generated once
 * and kept in the metadata store (read when first needed).
 */
export function uiSecret(
  configured: string | undefined,
  store: () => MetadataStore,
): () => Promise<Uint8Array> {
  return async () => {
    if (configured) {
      return createHmac("sha256", configured).update("berth-ui").digest();
    }
    const key = meta.uiSecret();
    const metadata = store();
    for (let i = 0; i < 5; i++) {
      const found = await metadata.get<string>(key);
      if (found) return Buffer.from(found.value, "base64url");
      const fresh = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
      const done = await metadata.commit([{ key, version: null }], [
        { type: "set", key, value: fresh },
      ]);
      if (done) return Buffer.from(fresh, "base64url");
    }
    throw new Error("Could not agree on the UI secret with the metadata store");
  };
}

/** A `Set-Cookie` value. `maxAge` 0 removes the cookie. */
export function setCookie(
  name: string,
  value: string,
  options: { maxAgeMs: number; secure: boolean },
): string {
  const parts = [
    `${name}=${value}`,
    `Path=${UI}`,
    `Max-Age=${Math.max(0, Math.floor(options.maxAgeMs / 1000))}`,
    "HttpOnly",
    "SameSite=Strict",
  ];
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}

/** The value of cookie `name` in the request, or null. */
export function readCookie(request: Request, name: string): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
