/**
 * @module
 * Typed reads of dotted paths (`storage.delete.enabled`) out of a parsed configuration
 * document, and {@linkcode ConfigError}, which every refusal throws. Values may come from
 * YAML (typed) or from `REGISTRY_*` variables (always strings), so booleans, integers and
 * durations are accepted in both forms; nothing else is coerced.
 */
import { parseDuration } from "./duration.ts";

/** A parsed YAML mapping. */
export type Doc = Record<string, unknown>;

/** True for a mapping (not null, not a list). */
export const isObject = (v: unknown): v is Doc =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** An invalid configuration: the message names the setting and quotes the value. */
export class ConfigError extends Error {
  /** Dotted path of the setting (`http.addr`), or `file` / `args` for the inputs. */
  readonly setting: string;
  /**
   * @param setting dotted path of the offending setting
   * @param message what is wrong, following the setting's name in the message
   * @param source the `REGISTRY_*` variable that set the value, when one did
   */
  constructor(setting: string, message: string, source?: string) {
    super(`Invalid configuration: ${setting} ${message}${source ? ` (set by ${source})` : ""}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** Reads settings out of `doc`; `origins` maps a dotted path to the variable that set it. */
export class Reader {
  readonly #doc: Doc;
  readonly #origins: ReadonlyMap<string, string>;

  constructor(doc: Doc, origins: ReadonlyMap<string, string> = new Map()) {
    this.#doc = doc;
    this.#origins = origins;
  }

  /** Throws a {@linkcode ConfigError} for `path`, naming the variable that set it, if any. */
  fail(path: string, message: string): never {
    throw new ConfigError(path, message, this.#origins.get(path));
  }

  /**
   * The value at `path`; YAML's `null` (an empty key) reads as absent. A numeric part
   * indexes a list (`notifications.endpoints.0.url`, `health.tcp.0.addr`), as the
   * environment names them.
   */
  get(path: string): unknown {
    let at: unknown = this.#doc;
    for (const part of path.split(".")) {
      if (Array.isArray(at) && /^\d+$/.test(part)) at = at[Number(part)];
      else if (isObject(at)) at = at[part];
      else return undefined;
    }
    return at ?? undefined;
  }

  /** Keys of the mapping at `path` (`""`: the document); undefined when absent. */
  keys(path: string): string[] | undefined {
    const value = path === "" ? this.#doc : this.get(path);
    if (value === undefined) return undefined;
    if (!isObject(value)) this.fail(path, `must be a mapping, got ${JSON.stringify(value)}`);
    return Object.keys(value);
  }

  /** Whether the key at `path` is present at all, even with an empty value. */
  has(path: string): boolean {
    const dot = path.lastIndexOf(".");
    const parent = dot < 0 ? this.#doc : this.get(path.slice(0, dot));
    return isObject(parent) && Object.hasOwn(parent, path.slice(dot + 1));
  }

  /** The variable that set `path`, if one did. */
  origin(path: string): string | undefined {
    return this.#origins.get(path);
  }

  /** A string; YAML numbers and booleans are taken as written. */
  str(path: string): string | undefined {
    const value = this.get(path);
    if (value === undefined || typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return this.fail(path, `must be a string, got ${JSON.stringify(value)}`);
  }

  /** A non-empty string (an empty one is almost always an unset variable). */
  text(path: string): string | undefined {
    const value = this.str(path);
    if (value === "") this.fail(path, `must not be empty, got ""`);
    return value;
  }

  /** `true` or `false`, as a YAML boolean or a string in any case. */
  bool(path: string): boolean | undefined {
    const value = this.get(path);
    if (value === undefined || typeof value === "boolean") return value;
    const lower = typeof value === "string" ? value.toLowerCase() : undefined;
    if (lower === "true" || lower === "false") return lower === "true";
    return this.fail(path, `must be true or false, got ${JSON.stringify(value)}`);
  }

  /** A whole number of at least `min` (and at most `max`); sizes are in bytes. */
  int(path: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min} to ${max}`;
      return this.fail(path, `must be a whole number ${range}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  /**
   * A positive Go-style duration (`30s`, `10m`, `24h`, `1h30m`) in milliseconds. Bare
   * numbers are refused: distribution reads them as nanoseconds, which nobody means.
   */
  duration(path: string): number | undefined {
    const value = this.get(path);
    if (value === undefined) return undefined;
    const ms = typeof value === "string" ? parseDuration(value) : null;
    if (ms === null || ms <= 0) {
      return this.fail(
        path,
        `must be a positive duration with a unit, such as "30s", "10m" or "24h", got ${
          JSON.stringify(value)
        }`,
      );
    }
    return ms;
  }

  /** One of `choices`. */
  oneOf<T extends string>(path: string, choices: readonly T[]): T | undefined {
    const value = this.str(path);
    if (value === undefined || choices.includes(value as T)) return value as T | undefined;
    return this.fail(path, `must be one of ${choices.join(", ")}, got "${value}"`);
  }
}
