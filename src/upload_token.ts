/**
 * @module
 * The upload state token carried in an upload's `Location` (`?_state=`): repository,
 * upload id, offset and start time, signed with HMAC-SHA256 under `http.secret`. The
 * session record stays the authority; the token makes forged or stale URLs fail early
 * and cleanly (a tampered token is `BLOB_UPLOAD_INVALID`, a stale offset a 416).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

/** What a token says about an upload. */
export interface UploadState {
  repo: string;
  id: string;
  offset: number;
  started: number;
}

/** Signs and verifies upload state tokens. */
export class UploadTokens {
  readonly #secret: Uint8Array;

  constructor(secret: string | Uint8Array) {
    this.#secret = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  }

  /** `<payload>.<signature>`, both base64url. */
  sign(state: UploadState): string {
    const payload = Buffer.from(
      JSON.stringify([state.repo, state.id, state.offset, state.started]),
    ).toString("base64url");
    return `${payload}.${this.#mac(payload)}`;
  }

  /** The state in `token`, or null when it is malformed or its signature is wrong. */
  verify(token: string): UploadState | null {
    const dot = token.indexOf(".");
    if (dot < 1 || token.length > 4096) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), "base64url");
    const expected = Buffer.from(this.#mac(payload), "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const [repo, id, offset, started] = JSON.parse(
        Buffer.from(payload, "base64url").toString("utf8"),
      );
      if (typeof repo !== "string" || typeof id !== "string") return null;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(started)) return null;
      return { repo, id, offset, started };
    } catch {
      return null;
    }
  }

  #mac(payload: string): string {
    return createHmac("sha256", this.#secret).update(payload).digest("base64url");
  }
}
