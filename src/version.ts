/**
 * @module
 * Berth's version, as `berth --version` prints it and the start-up log names it.
 */

/** The release this source tree is. */
export const VERSION = "0.9.0";
