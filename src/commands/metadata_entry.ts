/**
 * @module
 * `berth metadata export|import <location>`: the metadata move (`metadata.ts`), loaded
 * only when the command runs, so serving never loads the other stores' clients.
 */
import type { Command } from "./command.ts";

/** The `metadata` subcommand. */
export const metadataCommandEntry: Command = {
  name: "metadata",
  summary: "copy all metadata to or from another store (KV file, KV Connect, PostgreSQL)",
  usage: "export|import <location> [config.yml]",
  async run(args) {
    const { metadataCommand } = await import("./metadata.ts");
    return await metadataCommand(args);
  },
};
