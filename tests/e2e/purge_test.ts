import assert from "node:assert/strict";
import { purgeUploads } from "../../src/registry/purge.ts";
import { silentLogger } from "../../src/log.ts";
import { startRegistry } from "../helpers/registry.ts";
import { sha256 } from "../helpers/oci.ts";

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`upload purging removes abandoned uploads only (${storage})`, async () => {
    const reg = await startRegistry({ storage });
    const { blobs: driver, metadata: store } = reg.runtime.drivers;
    try {
      // A live session, and an abandoned one whose session record has expired.
      const live = await fetch(`${reg.url}/v2/p/x/blobs/uploads/`, { method: "POST" });
      const liveLocation = live.headers.get("location")!;
      await (await fetch(reg.url + liveLocation, { method: "PATCH", body: "held" })).body?.cancel();
      const gone = await fetch(`${reg.url}/v2/p/x/blobs/uploads/`, { method: "POST" });
      const goneId = gone.headers.get("docker-upload-uuid")!;
      await (await fetch(reg.url + gone.headers.get("location"), { method: "PATCH", body: "lost" }))
        .body?.cancel();
      await store.commit([], [{ type: "delete", key: ["upload", goneId] }]);

      const young = await purgeUploads(driver, store, {
        ageMs: 60_000,
        dryRun: false,
        logger: silentLogger,
      });
      assert.deepEqual(young.purged, [], "recent uploads are kept");
      const dry = await purgeUploads(driver, store, {
        ageMs: 0,
        dryRun: true,
        logger: silentLogger,
      });
      assert.deepEqual(dry.purged, [goneId]);
      const report = await purgeUploads(driver, store, {
        ageMs: 0,
        dryRun: false,
        logger: silentLogger,
      });
      assert.deepEqual(report.purged, [goneId]);
      assert.equal(report.kept, 1);
      const ids = await Array.fromAsync(driver.uploads.list!(), (u) => u.id);
      assert.ok(!ids.includes(goneId), "the abandoned upload's bytes are gone");

      // The live session goes on untouched.
      const data = new TextEncoder().encode("held");
      const status = await fetch(reg.url + liveLocation.split("?")[0]);
      await status.body?.cancel();
      const put = await fetch(
        `${reg.url}${status.headers.get("location")}&digest=${sha256(data)}`,
        { method: "PUT" },
      );
      assert.equal(put.status, 201, await put.text());
    } finally {
      await reg.close();
    }
  });
}
