/**
 * @module
 * Test fixtures for access control: htpasswd files, Basic headers, and a registry whose
 * log lines are kept for inspection.
 */
import bcrypt from "bcryptjs";
import { createLogger } from "../../src/log.ts";
import { startRegistry, type TestRegistry } from "./registry.ts";

/** Writes an htpasswd file of bcrypt entries (as `htpasswd -B` writes them). */
export async function htpasswdFile(users: Record<string, string>): Promise<string> {
  const lines = Object.entries(users).map(([user, password]) =>
    `${user}:${bcrypt.hashSync(password, 4).replace(/^\$2[ab]\$/, "$2y$")}`
  );
  const path = await Deno.makeTempFile({ prefix: "berth-htpasswd-" });
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** An `Authorization: Basic` header. */
export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${btoa(`${user}:${password}`)}` };
}

/** A registry with `auth`, keeping every log line it writes. */
export async function startAuthRegistry(
  auth: Record<string, unknown>,
  extra: Parameters<typeof startRegistry>[0] = {},
): Promise<TestRegistry & { logs: string[] }> {
  const logs: string[] = [];
  const logger = createLogger({
    level: "debug",
    instanceId: "test",
    write: (_, line) => logs.push(line),
  });
  const reg = await startRegistry({ ...extra, logger, doc: { ...(extra.doc ?? {}), auth } });
  return { ...reg, logs };
}
