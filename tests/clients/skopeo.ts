/**
 * @module
 * Runs the real `skopeo` binary against a test registry (plain HTTP, no signature policy).
 */
import { runTool } from "../helpers/tool.ts";

let policy: string | undefined;

/** Runs `skopeo <args>`; returns stdout, failing the test with stderr on a non-zero exit. */
export async function skopeo(...args: string[]): Promise<string> {
  if (!policy) {
    policy = await Deno.makeTempFile({ prefix: "berth-policy-", suffix: ".json" });
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  }
  return await runTool("skopeo", ["--policy", policy, ...args], {
    env: { REGISTRY_AUTH_FILE: `${policy}.auth.json` },
    label: `skopeo ${args.join(" ")}`,
  });
}
