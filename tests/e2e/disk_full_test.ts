/**
 * @module
 * A full disk is a clear 507 `UNAVAILABLE` that names the cause, leaves nothing partial,
 * and service resumes once space is free. The registry's blob store lives on a 16 MiB
 * tmpfs mounted in a private mount namespace (`unshare`, so no root is needed where user
 * namespaces are allowed); the steps are in `tests/helpers/disk_full_scenario.ts`.
 */
import assert from "node:assert/strict";

const SCENARIO = new URL("../helpers/disk_full_scenario.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test("a full disk is a 507 with nothing partial, and pushes resume once space is free", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-full-" });
  try {
    const script =
      `mount -t tmpfs -o size=16m berth-full "$1" && exec "$2" run -A --config "$3" "$4" "$1"`;
    const out = await new Deno.Command("unshare", {
      args: [
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        script,
        "sh",
        dir,
        Deno.execPath(),
        CONFIG,
        SCENARIO,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    const steps = text.split("\n").filter((l) => l.startsWith("step: "));
    assert.equal(steps.length, 5, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
