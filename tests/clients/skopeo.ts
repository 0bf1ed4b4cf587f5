/**
 * @module
 * Runs the real `skopeo` binary against a test registry (plain HTTP, no signature policy).
 */
import { runTool, type ToolResult, tryTool } from "../helpers/tool.ts";

let policy: string | undefined;

/** skopeo's flags and environment: an accept-anything policy and an auth file of its own. */
async function setup(args: string[]) {
  if (!policy) {
    policy = await Deno.makeTempFile({ prefix: "berth-policy-", suffix: ".json" });
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  }
  return {
    args: ["--policy", policy, ...args],
    options: {
      env: { REGISTRY_AUTH_FILE: `${policy}.auth.json` },
      label: `skopeo ${args.join(" ")}`,
    },
  };
}

/** Runs `skopeo <args>`; returns stdout, failing the test with stderr on a non-zero exit. */
export async function skopeo(...args: string[]): Promise<string> {
  const { args: all, options } = await setup(args);
  return await runTool("skopeo", all, options);
}

/** Runs `skopeo <args>` that may fail (a refusal under test); how it ended. */
export async function trySkopeo(...args: string[]): Promise<ToolResult> {
  const { args: all, options } = await setup(args);
  return await tryTool("skopeo", all, options);
}
