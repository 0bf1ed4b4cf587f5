/**
 * @module
 * Users from an htpasswd file of bcrypt entries (what `htpasswd -B` writes). Verified
 * credentials are remembered for a few minutes as a SHA-256 of user and password, so a
 * client sending Basic credentials on every request does not pay bcrypt every time.
 */
import bcrypt from "bcryptjs";
import { createHash } from "node:crypto";

/** How long verified credentials are remembered. */
const REMEMBER_MS = 5 * 60_000;

/** The users of an htpasswd file. */
export class Htpasswd {
  readonly #hashes: Map<string, string>;
  readonly #verified = new Map<string, number>();

  private constructor(hashes: Map<string, string>) {
    this.#hashes = hashes;
  }

  /** Parses file contents; throws naming the line of an entry that is not bcrypt. */
  static parse(text: string, source = "htpasswd"): Htpasswd {
    const hashes = new Map<string, string>();
    text.split(/\r?\n/).forEach((line, i) => {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith("#")) return;
      const colon = trimmed.indexOf(":");
      const user = trimmed.slice(0, colon);
      const hash = trimmed.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        throw new Error(`${source} line ${i + 1} is not a "user:bcrypt-hash" entry (htpasswd -B)`);
      }
      hashes.set(user, hash);
    });
    return new Htpasswd(hashes);
  }

  /** Number of users. */
  get size(): number {
    return this.#hashes.size;
  }

  /** The user names. */
  get names(): ReadonlySet<string> {
    return new Set(this.#hashes.keys());
  }

  /** True when `user` exists and `password` is theirs. */
  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.#hashes.get(user);
    if (!hash) {
      // Spend the same time as a real check, so user names cannot be probed by timing.
      await bcrypt.compare(password, "$2a$10$" + "x".repeat(53)).catch(() => false);
      return false;
    }
    const key = createHash("sha256").update(`${user}\0${password}\0${hash}`).digest("hex");
    const until = this.#verified.get(key);
    if (until && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.#verified.size > 10_000) this.#verified.clear();
      this.#verified.set(key, Date.now() + REMEMBER_MS);
    }
    return ok;
  }
}
