/**
 * @module
 * Docker token scopes: `repository:<name>:<actions>` and `registry:catalog:*`, parsed from
 * requests and token claims, and rendered into challenges.
 */
import type { Action, Scope } from "../access.ts";

const ACTIONS: ReadonlySet<string> = new Set(["pull", "push", "delete", "*"]);

/** One entry of a token's `access` claim. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses `type:name:actions` (the name may itself hold colons, e.g. a host with a port).
 * Unknown actions are dropped; null when the scope is malformed or the name holds
 * characters no repository name has (they would only end up in logs).
 */
export function parseScope(text: string): Scope | null {
  const first = text.indexOf(":");
  const last = text.lastIndexOf(":");
  if (first <= 0 || last === first) return null;
  const type = text.slice(0, first);
  if (type !== "repository" && type !== "registry") return null;
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(",").filter((a) => ACTIONS.has(a)) as Action[];
  // Repository names (with a registry host and port, as some clients send them) only.
  if (!/^[A-Za-z0-9._/:-]+$/.test(name)) return null;
  return { type, name, actions };
}

/** Scopes of a token request: `scope` repeated and/or space-separated. */
export function parseScopes(values: string[]): Scope[] {
  return values.flatMap((v) => v.split(" ")).filter(Boolean).map(parseScope)
    .filter((s): s is Scope => s !== null);
}

/** `repository:a/b:pull,push` */
export function formatScope(scope: Scope | AccessEntry): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(",")}`;
}

/** True when `granted` includes `action` (`*` includes everything). */
export function allows(granted: readonly string[], action: Action): boolean {
  return granted.includes("*") || granted.includes(action);
}
