import assert from "node:assert/strict";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

async function start(env: Record<string, string>, args: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, "-A", MAIN, ...args],
    env: { REGISTRY_HTTP_ADDR: "127.0.0.1:0", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("a bad configuration stops start-up with one line naming the setting", async () => {
  const dir = await Deno.makeTempDir({ prefix: "berth-startup-" });
  try {
    const auth = await start({
      REGISTRY_AUTH_HTPASSWD_PATH: `${dir}/missing`,
      REGISTRY_BERTH_DATADIR: dir,
    });
    assert.equal(auth.code, 2);
    assert.match(auth.stderr, /^Invalid configuration: auth\.htpasswd\.path /);
    assert.ok(!auth.stderr.includes("    at "), "no stack trace");
    const http = await start({ REGISTRY_HTTP_ADDR: "nonsense", REGISTRY_BERTH_DATADIR: dir });
    assert.equal(http.code, 2);
    assert.match(http.stderr, /http\.addr/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
