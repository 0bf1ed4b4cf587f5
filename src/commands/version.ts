/**
 * @module
 * `berth version` (also `berth --version`): Berth's version and the Deno it runs on.
 */
import { VERSION } from "../version.ts";
import type { Command } from "./command.ts";

/** The version line. */
export function versionLine(): string {
  return `berth ${VERSION} (deno ${Deno.version.deno})`;
}

/** `berth version`. */
export const versionCommand: Command = {
  name: "version",
  summary: "print the version and exit",
  usage: "",
  run() {
    console.log(versionLine());
    return Promise.resolve(0);
  },
};
