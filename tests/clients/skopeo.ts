/**
 * @module
 * Runs the real `skopeo` binary against a test registry (plain HTTP, no signature policy).
 */
import assert from "node:assert/strict";

let policy: string | undefined;

/** Runs `skopeo <args>`; returns stdout, failing the test with stderr on a non-zero exit. */
export async function skopeo(...args: string[]): Promise<string> {
  if (!policy) {
    policy = await Deno.makeTempFile({ prefix: "berth-policy-", suffix: ".json" });
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  }
  const out = await new Deno.Command("skopeo", {
    args: ["--policy", policy, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { REGISTRY_AUTH_FILE: `${policy}.auth.json` },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(
    out.code,
    0,
    `skopeo ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`,
  );
  return text;
}
