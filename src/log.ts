/**
 * @module
 * Structured logs: one JSON (or text) line per event, filtered by level. Every line
 * carries the process's instance id, so lines from a fleet can be told apart.
 */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A structured logger. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  level: LogLevel;
  format?: "json" | "text";
  instanceId: string;
  /** Where lines go (default: stderr for warn and error, stdout otherwise). */
  write?: (level: LogLevel, line: string) => void;
}

function defaultWrite(level: LogLevel, line: string): void {
  if (RANK[level] >= RANK.warn) console.error(line);
  else console.log(line);
}

function describe(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, cause: value.cause };
  }
  return value;
}

/** A logger writing lines at `level` and above. */
export function createLogger(options: LoggerOptions): Logger {
  const min = RANK[options.level];
  const write = options.write ?? defaultWrite;
  const emit = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const time = new Date().toISOString();
    if (options.format === "text") {
      const rest = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(describe(v))}`)
        .join(" ");
      write(level, `${time} ${level.toUpperCase()} ${msg} ${rest} instance=${options.instanceId}`);
      return;
    }
    const record: Record<string, unknown> = { time, level, msg, instance: options.instanceId };
    for (const [k, v] of Object.entries(fields)) record[k] = describe(v);
    write(level, JSON.stringify(record));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
