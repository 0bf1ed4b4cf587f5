/**
 * @module
 * `berth.ui`, the web UI's settings (distribution has no UI): whether it is served, and how
 * long a sign-in lasts. Read by `berth.ts`, which lists `ui` among its keys.
 *
 * ```yaml
 * berth:
 *   ui:
 *     enabled: true      # default; false serves no page (the OCI API is the same either way)
 *     sessionttl: 12h    # a sign-in lasts this long
 * ```
 */
import type { Reader } from "./reader.ts";
import type { KeySet } from "./section.ts";

/** The validated `berth.ui` mapping. */
export interface UiConfig {
  /** Serve the web UI at `/` (for browsers) and under `/ui/`; default true. */
  enabled: boolean;
  /** How long a sign-in lasts, in milliseconds; default 12h. */
  sessionttl: number;
}

/** Keys of `berth.ui`. */
export const UI_KEYS: KeySet = { keys: ["enabled", "sessionttl"] };

/** Reads `berth.ui`. */
export function readUi(r: Reader): UiConfig {
  return {
    enabled: r.bool("berth.ui.enabled") ?? true,
    sessionttl: r.duration("berth.ui.sessionttl") ?? 12 * 3600_000,
  };
}
