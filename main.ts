/**
 * @module
 * Berth's entrypoint, and the `berth` executable's (`deno task compile`): runs the
 * command the arguments name (`src/commands/mod.ts`; by default `serve`, which serves and
 * drains gracefully on SIGTERM). No logic lives here.
 *
 * Usage: `deno task start [serve] [config.yml]` (or `REGISTRY_CONFIGURATION_PATH`).
 */
import { main } from "./src/commands/mod.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
