/**
 * @module
 * The one binary: `deno task compile`'s command builds `berth` (once per run, into a temp
 * directory), which prints its version, serves a skopeo push and pull from a
 * configuration file given as `berth serve <file>`, and exits 0 on SIGTERM. The same
 * checks run on `main.ts` under exactly the permissions the binary is compiled with, so
 * the permission set is proven even where the compile cannot run.
 *
 * `deno compile` needs Deno's `denort` base binary, which it downloads once (or takes
 * from `DENORT_BIN`). Where it can be had by neither, the binary's test is ignored with
 * the reason printed; any other compile failure fails it.
 */
import assert from "node:assert/strict";
import { Layout } from "../helpers/images.ts";
import { type BerthProcess, spawnExecutable } from "../helpers/process.ts";
import { skopeo } from "./skopeo.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const CONFIG = `${ROOT}deno.json`;
const TASK: string = JSON.parse(await Deno.readTextFile(CONFIG)).tasks.compile;
/** The compile command's flags that also apply at run time (permissions, unstable APIs). */
const RUNTIME_FLAGS = TASK.split(/\s+/).filter((f) => /^--(allow|unstable)-/.test(f));

/** Builds the binary as the task does, into `dir`; the path, or why it cannot be built. */
async function compile(
  dir: string,
): Promise<{ path: string } | { skip: string } | { fail: string }> {
  const words = TASK.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "compile"], `unexpected compile task: ${TASK}`);
  const args = words.slice(1).map((w, i, all) => all[i - 1] === "--output" ? `${dir}/berth` : w);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args.slice(0, 1), "--config", CONFIG, ...args.slice(1)],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return { path: `${dir}/berth` };
  const err = new TextDecoder().decode(out.stderr);
  if (/denort/.test(err) && /error sending request|dns error|Connect/.test(err)) {
    return { skip: "deno compile cannot fetch its denort base binary (offline; set DENORT_BIN)" };
  }
  return { fail: err };
}

const buildDir = await Deno.makeTempDir({ prefix: "berth-binary-" });
const built = await compile(buildDir);
if ("skip" in built) {
  console.warn(`binary_test: the compiled binary's test is ignored: ${built.skip}`);
}

/** Pushes an image with skopeo and pulls it back; asserts the same manifest came back. */
async function roundTrip(berth: BerthProcess): Promise<void> {
  const layout = await Layout.create();
  const out = await Deno.makeTempDir({ prefix: "berth-binary-pulled-" });
  try {
    const image = await layout.image([100_000, 2000]);
    await layout.tag(image, "v1");
    await skopeo(
      "copy",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout.dir}:v1`,
      `docker://${berth.host}/bin/app:v1`,
    );
    await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--preserve-digests",
      `docker://${berth.host}/bin/app:v1`,
      `oci:${out}:v1`,
    );
    const index = JSON.parse(await Deno.readTextFile(`${out}/index.json`));
    assert.equal(index.manifests[0].digest, image.digest);
  } finally {
    await layout.remove();
    await Deno.remove(out, { recursive: true });
  }
}

/** Sends SIGTERM; asserts a clean exit after a drain. */
async function stop(berth: BerthProcess): Promise<void> {
  Deno.kill(berth.pid, "SIGTERM");
  const status = await berth.exited;
  assert.equal(status.code, 0, berth.output.join("\n"));
  assert.ok(berth.output.some((l) => l.includes('"msg":"stopped"')), berth.output.join("\n"));
}

async function writeConfig(dir: string): Promise<string> {
  const path = `${dir}/config.yml`;
  await Deno.writeTextFile(
    path,
    [
      "version: 0.1",
      "http:",
      "  addr: 127.0.0.1:0",
      "  draintimeout: 5s",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/blobs`,
      "berth:",
      `  datadir: ${dir}`,
      "",
    ].join("\n"),
  );
  return path;
}

Deno.test({
  name: "binary: the compiled berth prints its version, serves skopeo and exits 0 on SIGTERM",
  ignore: "skip" in built,
  async fn() {
    if ("fail" in built) throw new Error(`deno task compile failed:\n${built.fail}`);
    if (!("path" in built)) return;
    const version = await new Deno.Command(built.path, { args: ["--version"], stdout: "piped" })
      .output();
    assert.equal(version.code, 0);
    assert.match(new TextDecoder().decode(version.stdout), /^berth \d+\.\d+\.\d+ \(deno 2\./);
    const dir = await Deno.makeTempDir({ prefix: "berth-binary-data-" });
    const env = { REGISTRY_HTTP_ADDR: "127.0.0.1:0" };
    const berth = await spawnExecutable(built.path, ["serve", await writeConfig(dir)], env);
    try {
      await roundTrip(berth);
      await stop(berth);
    } finally {
      await berth.kill();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("binary: main.ts under exactly the binary's permissions serves skopeo and exits 0 on SIGTERM", async () => {
  assert.ok(RUNTIME_FLAGS.includes("--allow-net") && !RUNTIME_FLAGS.includes("--allow-all"));
  const main = `${ROOT}main.ts`;
  const version = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, ...RUNTIME_FLAGS, main, "--version"],
    stdout: "piped",
  }).output();
  assert.match(new TextDecoder().decode(version.stdout), /^berth \d+\.\d+\.\d+ \(deno 2\./);
  const dir = await Deno.makeTempDir({ prefix: "berth-binary-data-" });
  const berth = await spawnExecutable(
    Deno.execPath(),
    ["run", "--config", CONFIG, ...RUNTIME_FLAGS, main, "serve", await writeConfig(dir)],
    { REGISTRY_HTTP_ADDR: "127.0.0.1:0" },
  );
  try {
    await roundTrip(berth);
    await stop(berth);
  } finally {
    await berth.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("binary: berth help lists the commands; an unknown one is refused", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", CONFIG, ...RUNTIME_FLAGS, `${ROOT}main.ts`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  };
  const help = await run("help");
  assert.equal(help.code, 0);
  assert.match(help.text, /Usage: berth <command>/);
  assert.match(help.text, /\n {2}serve +serve the registry/);
  assert.match(help.text, /\n {2}version +print the version/);
  const unknown = await run("frobnicate");
  assert.equal(unknown.code, 2);
  assert.match(unknown.text, /Unknown command "frobnicate"/);
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(buildDir, { recursive: true });
});
