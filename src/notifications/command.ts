/**
 * @module
 * `deno task notifications`: the endpoints' statistics and their dead letters, read from
 * the metadata store the configuration names (the registry may keep running meanwhile).
 *
 * ```
 * deno task notifications [--config <file>] status
 * deno task notifications [--config <file>] dead <endpoint>
 * deno task notifications [--config <file>] redeliver <endpoint> (--all | <event id>...)
 * deno task notifications [--config <file>] discard <endpoint> (--all | <event id>...)
 * ```
 *
 * The file may also come from `REGISTRY_CONFIGURATION_PATH`, and settings from the
 * `REGISTRY_*` environment, as for `deno task start`. Output is one JSON document per
 * line. Redelivered letters go back to the head of their endpoint's queue, under their
 * own sequence numbers, and keep their ids.
 */
import { openMetadataStore } from "../../drivers/factory.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { listDeadLetters, reviveDeadLetters } from "./queue.ts";
import { readEndpointStats } from "./stats.ts";

const USAGE = `usage: deno task notifications [--config <file>] <command>
  status                                    statistics of every configured endpoint
  dead <endpoint>                           the endpoint's dead letters
  redeliver <endpoint> (--all | <id>...)    moves dead letters back into the queue
  discard <endpoint> (--all | <id>...)      drops dead letters`;

/** Runs the command line `args`; returns the exit status. */
export async function run(args: string[], print = console.log): Promise<number> {
  const rest = [...args];
  const configArgs: string[] = [];
  const at = rest.findIndex((a) => a === "--config" || a.startsWith("--config="));
  if (at >= 0) configArgs.push(...rest.splice(at, rest[at] === "--config" ? 2 : 1));
  const [command, endpoint, ...picked] = rest;
  // Operands each command takes, at least and at most.
  const arity: Record<string, [number, number]> = {
    status: [0, 0],
    dead: [1, 1],
    redeliver: [2, Infinity],
    discard: [2, Infinity],
  };
  const range = Object.hasOwn(arity, command) ? arity[command] : undefined;
  if (!range || rest.length - 1 < range[0] || rest.length - 1 > range[1]) {
    console.error(USAGE);
    return 2;
  }
  let config;
  try {
    config = await loadConfig({ args: configArgs });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return 2;
  }
  const endpoints = config.notifications?.endpoints ?? [];
  if (endpoint !== undefined && !endpoints.some((e) => e.name === endpoint)) {
    console.error(`Endpoint "${endpoint}" is not configured; reading its records anyway`);
  }
  const store = await openMetadataStore(config.berth.metadata);
  try {
    switch (command) {
      case "status":
        for (const s of await readEndpointStats(store, endpoints)) print(JSON.stringify(s));
        return 0;
      case "dead":
        for (const { seq, value } of await listDeadLetters(store, endpoint)) {
          print(JSON.stringify({ seq, ...value }));
        }
        return 0;
      default: {
        const ids = picked.includes("--all") ? "all" : new Set(picked);
        const moved = await reviveDeadLetters(store, endpoint, ids, command === "discard");
        print(
          JSON.stringify({
            endpoint,
            [command === "discard" ? "discarded" : "redelivered"]: moved,
          }),
        );
        if (ids !== "all" && moved < ids.size) {
          console.error(`${ids.size - moved} of the ids named no dead letter of "${endpoint}"`);
          return 1;
        }
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
