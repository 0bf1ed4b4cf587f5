/**
 * @module
 * The `log:` section: level, format and the access log.
 */
import { type Section, words } from "./section.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The validated `log:` section. */
export interface LogConfig {
  /** Default `info`. */
  level: LogLevel;
  /** Default `json`; distribution's `logstash` (JSON too) reads as `json`. */
  formatter: "json" | "text";
  /** One line per request unless `disabled`. */
  accesslog: { disabled: boolean };
}

/** The `log:` section. */
export const log: Section<"log", LogConfig> = {
  key: "log",
  schema: {
    log: { keys: words("level formatter accesslog"), ignore: words("fields hooks reportcaller") },
    "log.accesslog": { keys: words("disabled") },
  },
  read: (r) => ({
    level: r.oneOf("log.level", ["debug", "info", "warn", "error"]) ?? "info",
    formatter: r.oneOf("log.formatter", ["json", "text", "logstash"]) === "text" ? "text" : "json",
    accesslog: { disabled: r.bool("log.accesslog.disabled") ?? false },
  }),
};
