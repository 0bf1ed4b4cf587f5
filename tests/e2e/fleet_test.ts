/**
 * @module
 * The fleet test on one Deno KV file shared by three processes of one host.
 */
import { fleetTest } from "../helpers/fleet.ts";

fleetTest(
  "a fleet of three instances shares S3 and one KV, any instance continues any upload",
  (dir) =>
    Promise.resolve({
      env: { REGISTRY_BERTH_METADATA_PATH: `${dir}/shared.kv` },
      name: "kv",
      cleanup: () => Promise.resolve(),
    }),
);
