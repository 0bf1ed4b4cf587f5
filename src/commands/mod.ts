/**
 * @module
 * The `berth` executable's command table. `berth` alone (or with only a configuration
 * path or `--config`) serves; `berth --version` and `berth help` answer and exit. An
 * offline command (garbage collection, metadata repairs ...) is one module exporting a
 * {@linkcode Command} and one entry in {@linkcode COMMANDS}.
 */
import type { Command } from "./command.ts";
import { serveCommand } from "./serve.ts";
import { metadataCommandEntry, notificationsCommandEntry } from "./lazy.ts";
import { versionCommand, versionLine } from "./version.ts";

export type { Command };

/** Every subcommand, in the order `berth help` lists them. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  metadataCommandEntry,
  notificationsCommandEntry,
  versionCommand,
];

/** Runs the command `args` name; resolves to the exit status. */
export async function main(args: string[], commands = COMMANDS): Promise<number> {
  const [first, ...rest] = args;
  if (first === "--version" || first === "-v") return versionCommand.run(rest);
  if (first === "help" || first === "--help" || first === "-h") {
    console.log(usage(commands));
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (command) return await command.run(rest);
  // distribution's `registry serve <config>` and Berth's `berth <config>` both serve.
  if (first === undefined || first.startsWith("-") || /[./]/.test(first)) {
    return await serveCommand.run(args);
  }
  console.error(`Unknown command "${first}"\n\n${usage(commands)}`);
  return 2;
}

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    versionLine(),
    "",
    "Usage: berth <command> [arguments]",
    "",
    ...commands.map((c) =>
      `  ${c.name.padEnd(width)}  ${c.summary}${c.usage ? `: ${c.usage}` : ""}`
    ),
    "",
    "berth --version prints the version; berth help prints this.",
  ].join("\n");
}
