/**
 * @module
 * The fleet test on PostgreSQL: three processes share one database (Debian's
 * PostgreSQL, started for the test) and one s3rver bucket. The URL and the password
 * reach Berth separately, from the environment, as a deployment's secrets would.
 */
import { fleetTest } from "../helpers/fleet.ts";
import { startPostgres } from "../helpers/postgres.ts";

fleetTest(
  "a fleet of three instances shares S3 and one PostgreSQL, any instance continues any upload",
  async () => {
    const pg = await startPostgres();
    const url = (await pg.database()).replace(/:[^:@/]+@/, "@");
    return {
      env: {
        REGISTRY_BERTH_METADATA_DRIVER: "postgres",
        REGISTRY_BERTH_METADATA_URL: url,
        REGISTRY_BERTH_METADATA_PASSWORD: pg.password,
        REGISTRY_BERTH_METADATA_POOL: "4",
      },
      name: "postgres",
      cleanup: () => pg.remove(),
    };
  },
);
