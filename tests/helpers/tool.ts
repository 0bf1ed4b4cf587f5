/**
 * @module
 * Runs a real client (skopeo, podman, buildah, ctr) for a test, with a time limit: a
 * client that hangs is killed and fails its own test instead of holding the whole suite.
 */
import assert from "node:assert/strict";

/** How long one client command may run before it is killed. */
export const TOOL_TIMEOUT_MS = 180_000;

/** Options of {@linkcode runTool}. */
export interface ToolOptions {
  env?: Record<string, string>;
  /** How the command is named in a failure (default: the command and its arguments). */
  label?: string;
}

/**
 * Runs `cmd` with `args`; its stdout, or a failure naming the command with its stderr
 * (also when it ran past {@linkcode TOOL_TIMEOUT_MS} and was killed).
 */
export async function runTool(cmd: string, args: string[], options: ToolOptions = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: options.env ?? {},
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
  }).output();
  const label = options.label ?? `${cmd} ${args.join(" ")}`;
  const how = out.signal
    ? `was killed (${out.signal}) after running for ${TOOL_TIMEOUT_MS / 1000} s`
    : "failed";
  assert.equal(out.code, 0, `${label} ${how}:\n${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}
