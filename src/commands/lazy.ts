/**
 * @module
 * Offline commands whose modules live with their capability, loaded only when the command
 * runs (so serving never loads another store's client): `berth metadata export|import`
 * (`metadata.ts`) and `berth notifications ...` (`src/notifications/command.ts`).
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

/** The `notifications` subcommand. */
export const notificationsCommandEntry: Command = {
  name: "notifications",
  summary: "webhook delivery: status, dead letters, redeliver or discard them",
  usage: "status|dead|redeliver|discard [endpoint] [config.yml]",
  async run(args) {
    const { run } = await import("../notifications/command.ts");
    return await run(args);
  },
};
