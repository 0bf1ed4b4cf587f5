/**
 * @module
 * Users from an htpasswd file of bcrypt entries (`$2y$`, `$2a$` or `$2b$`, what
 * `htpasswd -B` writes). Like distribution, Berth reads the file again when it changes, so
 * users are added or removed without a restart; a file that no longer parses locks
 * everyone out (and says so in the log) rather than keeping accounts someone removed.
 *
 * Verified credentials are remembered for a few minutes as a SHA-256 of user, password
 * and hash, so a client sending Basic credentials on every request does not pay bcrypt
 * every time; a changed hash (a new password) invalidates the memory.
 */
import bcrypt from "bcryptjs";
import { createHash } from "node:crypto";
import type { Logger } from "../log.ts";

/** How long verified credentials are remembered. */
const REMEMBER_MS = 5 * 60_000;
/** How often the file's modification time is looked at. */
const STAT_EVERY_MS = 1000;
const ENTRY = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Who may sign in. */
export interface Users {
  /** True when `user` exists and `password` is theirs. */
  verify(user: string, password: string): Promise<boolean>;
  /**
   * A short fingerprint of the user's current password hash, or null when there is no
   * such user: refresh tokens carry it, so a new password or a removed account ends them.
   */
  fingerprint(user: string): Promise<string | null>;
}

/** The users of one htpasswd text. */
export class Htpasswd implements Users {
  readonly #hashes: Map<string, string>;
  readonly #verified = new Map<string, number>();
  /** A well-formed hash of no one, at the file's cost, for unknown users. */
  readonly #decoy: string;

  private constructor(hashes: Map<string, string>) {
    this.#hashes = hashes;
    const first = hashes.values().next().value;
    const cost = first ? ENTRY.exec(first)![1] : "10";
    this.#decoy = `$2b$${cost}$${"N".repeat(53)}`;
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
      if (colon <= 0 || !ENTRY.test(hash)) {
        throw new Error(`${source} line ${i + 1} is not a "user:bcrypt-hash" entry (htpasswd -B)`);
      }
      if (hashes.has(user)) throw new Error(`${source} line ${i + 1} repeats user "${user}"`);
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
      // Spend the time of a real check, so user names cannot be probed by timing.
      await bcrypt.compare(password, this.#decoy).catch(() => false);
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

  /** See {@linkcode Users.fingerprint}. */
  fingerprint(user: string): Promise<string | null> {
    const hash = this.#hashes.get(user);
    if (!hash) return Promise.resolve(null);
    return Promise.resolve(
      createHash("sha256").update(`${user}\0${hash}`).digest("base64url").slice(0, 16),
    );
  }
}

/** File access {@linkcode HtpasswdFile} needs (tests pass their own). */
export interface FileAccess {
  readTextFile(path: string): Promise<string>;
  stat(path: string): Promise<{ mtime: Date | null }>;
}

/** An htpasswd file, read again when its modification time changes. */
export class HtpasswdFile implements Users {
  #users: Htpasswd;
  #mtime: number;
  #checkedAt = Date.now();
  #pending: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    users: Htpasswd,
    mtime: number,
    private readonly fs: FileAccess,
    private readonly logger?: Logger,
  ) {
    this.#users = users;
    this.#mtime = mtime;
  }

  /** Reads `path`; throws when it cannot be read, does not parse, or has no users. */
  static async open(path: string, fs: FileAccess = Deno, logger?: Logger): Promise<HtpasswdFile> {
    let text: string, mtime: number;
    try {
      mtime = (await fs.stat(path)).mtime?.getTime() ?? 0;
      text = await fs.readTextFile(path);
    } catch (err) {
      throw new Error(`"${path}" cannot be read: ${(err as Error).message}`);
    }
    const users = Htpasswd.parse(text, `"${path}"`);
    if (users.size === 0) throw new Error(`"${path}" has no users`);
    return new HtpasswdFile(path, users, mtime, fs, logger);
  }

  /** The user names as last read. */
  get names(): ReadonlySet<string> {
    return this.#users.names;
  }

  /** The users, read again first if the file changed. */
  async current(): Promise<Htpasswd> {
    if (Date.now() - this.#checkedAt >= STAT_EVERY_MS) {
      this.#pending ??= this.#reload().finally(() => this.#pending = null);
      await this.#pending;
    }
    return this.#users;
  }

  async #reload(): Promise<void> {
    this.#checkedAt = Date.now();
    let mtime: number;
    try {
      mtime = (await this.fs.stat(this.path)).mtime?.getTime() ?? 0;
      if (mtime === this.#mtime) return;
      this.#users = Htpasswd.parse(await this.fs.readTextFile(this.path), `"${this.path}"`);
      this.logger?.info("htpasswd reloaded", { path: this.path, users: this.#users.size });
    } catch (err) {
      // Fail closed: an account removed by the broken edit must not live on.
      this.#users = Htpasswd.parse("");
      this.logger?.error("htpasswd unreadable; nobody can sign in until it is fixed", {
        path: this.path,
        error: (err as Error).message,
      });
      mtime = NaN; // read again at the next check
    }
    this.#mtime = mtime;
  }

  /** See {@linkcode Users.verify}. */
  async verify(user: string, password: string): Promise<boolean> {
    return (await this.current()).verify(user, password);
  }

  /** See {@linkcode Users.fingerprint}. */
  async fingerprint(user: string): Promise<string | null> {
    return (await this.current()).fingerprint(user);
  }
}
