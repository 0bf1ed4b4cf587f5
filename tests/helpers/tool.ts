/**
 * @module
 * Runs a real client (skopeo, podman, buildah, ctr) for a test, with a time limit: a
 * client that hangs is killed and fails its own test instead of holding the whole suite.
 */
import assert from "node:assert/strict";

/** How long one client command may run before it is killed. */
export const TOOL_TIMEOUT_MS = 180_000;

/** Options of {@linkcode runTool} and {@linkcode tryTool}. */
export interface ToolOptions {
  env?: Record<string, string>;
  /** How the command is named in a failure (default: the command and its arguments). */
  label?: string;
}

/** How a command ended. */
export interface ToolResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs `cmd` with `args` and says how it ended, whatever its exit code; a command that ran
 * past {@linkcode TOOL_TIMEOUT_MS} fails the test.
 */
export async function tryTool(
  cmd: string,
  args: string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  const result = await new Deno.Command(cmd, {
    args,
    env: options.env ?? {},
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
  }).output();
  const err = new TextDecoder().decode(result.stderr);
  const label = options.label ?? `${cmd} ${args.join(" ")}`;
  assert.ok(
    !result.signal,
    `${label} was killed (${result.signal}) after ${TOOL_TIMEOUT_MS / 1000} s:\n${err}`,
  );
  return { code: result.code, out: new TextDecoder().decode(result.stdout), err };
}

/** Runs `cmd` with `args`; its stdout, or a failure naming the command with its stderr. */
export async function runTool(cmd: string, args: string[], options: ToolOptions = {}) {
  const { code, out, err } = await tryTool(cmd, args, options);
  assert.equal(code, 0, `${options.label ?? `${cmd} ${args.join(" ")}`} failed:\n${err}`);
  return out;
}
