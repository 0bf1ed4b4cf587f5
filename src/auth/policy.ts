/**
 * @module
 * The access policy: which callers may do what on which repositories. Rules name users,
 * groups, `authenticated` (any signed-in user) or `anonymous`, repository globs and
 * actions; a caller's rights on a repository are the union of the rules that match.
 * Without a policy, signed-in users may do everything and anonymous callers nothing.
 */
import type { Action, Scope } from "../access.ts";
import { ConfigError } from "../config/mod.ts";
import { compileGlob } from "./glob.ts";
import type { AccessEntry } from "./scope.ts";

/** Who a rule or the catalog permission applies to. */
interface Who {
  users: Set<string>;
  groups: Set<string>;
  authenticated: boolean;
  anonymous: boolean;
}

interface Rule extends Who {
  repositories: RegExp[];
  actions: Action[];
}

const ALL: Action[] = ["pull", "push", "delete"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function strings(value: unknown, setting: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) {
    throw new ConfigError(setting, "must be a list of names");
  }
  return value as string[];
}

function flag(value: unknown, setting: string): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  if (typeof value !== "boolean") throw new ConfigError(setting, "must be true or false");
  return value;
}

function who(doc: Record<string, unknown>, at: string, groups: Map<string, Set<string>>): Who {
  const w: Who = {
    users: new Set(strings(doc.users, `${at}.users`)),
    groups: new Set(strings(doc.groups, `${at}.groups`)),
    authenticated: flag(doc.authenticated, `${at}.authenticated`),
    anonymous: flag(doc.anonymous, `${at}.anonymous`),
  };
  for (const g of w.groups) {
    if (!groups.has(g)) throw new ConfigError(`${at}.groups`, `names unknown group "${g}"`);
  }
  if (!w.users.size && !w.groups.size && !w.authenticated && !w.anonymous) {
    throw new ConfigError(at, "must name users, groups, authenticated or anonymous");
  }
  return w;
}

/** A compiled access policy. */
export class Policy {
  private constructor(
    private readonly rules: Rule[] | null,
    private readonly memberOf: Map<string, Set<string>>,
    private readonly catalog: Who | null,
  ) {}

  /** Without rules: signed-in users may do everything, anonymous callers nothing. */
  static open(): Policy {
    return new Policy(null, new Map(), null);
  }

  /** Validates and compiles `auth.policy`; `users` are the known user names, if any. */
  static parse(doc: unknown, users?: ReadonlySet<string>): Policy {
    if (!isObject(doc)) throw new ConfigError("auth.policy", "must be a mapping");
    for (const key of Object.keys(doc)) {
      if (!["groups", "rules", "catalog"].includes(key)) {
        throw new ConfigError(`auth.policy.${key}`, "is not a known setting");
      }
    }
    const groups = new Map<string, Set<string>>();
    if (doc.groups !== undefined) {
      if (!isObject(doc.groups)) throw new ConfigError("auth.policy.groups", "must be a mapping");
      for (const [name, members] of Object.entries(doc.groups)) {
        groups.set(name, new Set(strings(members, `auth.policy.groups.${name}`)));
      }
    }
    if (!Array.isArray(doc.rules) || doc.rules.length === 0) {
      throw new ConfigError("auth.policy.rules", "must be a non-empty list of rules");
    }
    const rules = doc.rules.map((r, i): Rule => {
      const at = `auth.policy.rules[${i}]`;
      if (!isObject(r)) throw new ConfigError(at, "must be a mapping");
      for (const key of Object.keys(r)) {
        if (
          !["users", "groups", "authenticated", "anonymous", "repositories", "actions"].includes(
            key,
          )
        ) {
          throw new ConfigError(`${at}.${key}`, "is not a known setting");
        }
      }
      const repositories = strings(r.repositories, `${at}.repositories`).map((p) => {
        try {
          return compileGlob(p);
        } catch (err) {
          throw new ConfigError(`${at}.repositories`, (err as Error).message);
        }
      });
      if (!repositories.length) throw new ConfigError(`${at}.repositories`, "must not be empty");
      const actions = strings(r.actions, `${at}.actions`);
      for (const a of actions) {
        if (!["pull", "push", "delete", "*"].includes(a)) {
          throw new ConfigError(
            `${at}.actions`,
            `has unknown action "${a}" (pull, push, delete, *)`,
          );
        }
      }
      if (!actions.length) throw new ConfigError(`${at}.actions`, "must not be empty");
      return { ...who(r, at, groups), repositories, actions: actions as Action[] };
    });
    let catalog: Who | null = null;
    if (doc.catalog !== undefined) {
      if (!isObject(doc.catalog)) throw new ConfigError("auth.policy.catalog", "must be a mapping");
      for (const key of Object.keys(doc.catalog)) {
        if (!["users", "groups", "authenticated", "anonymous"].includes(key)) {
          throw new ConfigError(`auth.policy.catalog.${key}`, "is not a known setting");
        }
      }
      catalog = who(doc.catalog, "auth.policy.catalog", groups);
    }
    if (users) {
      // A name that is not a user is a typo that would silently grant nothing.
      const named: [string, Iterable<string>][] = [
        ...[...groups].map(([g, m]): [string, Iterable<string>] => [`auth.policy.groups.${g}`, m]),
        ...rules.map((
          r,
          i,
        ): [string, Iterable<string>] => [`auth.policy.rules[${i}].users`, r.users]),
        ["auth.policy.catalog.users", catalog?.users ?? []],
      ];
      for (const [setting, names] of named) {
        for (const u of names) {
          if (!users.has(u)) throw new ConfigError(setting, `names unknown user "${u}"`);
        }
      }
    }
    const memberOf = new Map<string, Set<string>>();
    for (const [g, members] of groups) {
      for (const m of members) (memberOf.get(m) ?? memberOf.set(m, new Set()).get(m)!).add(g);
    }
    return new Policy(rules, memberOf, catalog);
  }

  #applies(w: Who, subject: string | null): boolean {
    if (subject === null) return w.anonymous;
    if (w.authenticated || w.users.has(subject)) return true;
    for (const g of this.memberOf.get(subject) ?? []) if (w.groups.has(g)) return true;
    return false;
  }

  /** What `subject` (null: anonymous) may do on repository `name`. */
  actions(subject: string | null, name: string): Set<Action> {
    if (this.rules === null) return new Set(subject === null ? [] : ALL);
    const out = new Set<Action>();
    for (const rule of this.rules) {
      if (!this.#applies(rule, subject) || !rule.repositories.some((re) => re.test(name))) continue;
      for (const a of rule.actions) {
        if (a === "*") ALL.forEach((x) => out.add(x));
        else out.add(a);
      }
    }
    return out;
  }

  /** Whether `subject` may do `action` on `name` (`*`: every action). */
  can(subject: string | null, name: string, action: Action): boolean {
    const allowed = this.actions(subject, name);
    return action === "*" ? ALL.every((a) => allowed.has(a)) : allowed.has(action);
  }

  /** Whether `subject` may list the catalog (default: any signed-in user). */
  canListCatalog(subject: string | null): boolean {
    if (this.catalog === null) return subject !== null;
    return this.#applies(this.catalog, subject);
  }

  /**
   * The token grants for `scopes` asked by `subject`: what was asked intersected with
   * what the policy allows (`*` asked gets `*` when everything is allowed, else what is).
   * Scopes nothing is granted for are left out.
   */
  grant(subject: string | null, scopes: readonly Scope[]): AccessEntry[] {
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      if (s.type === "registry") {
        if (s.name === "catalog" && this.canListCatalog(subject)) {
          out.push({ type: "registry", name: "catalog", actions: ["*"] });
        }
        continue;
      }
      const allowed = this.actions(subject, s.name);
      let actions: string[];
      if (s.actions.includes("*")) {
        actions = ALL.every((a) => allowed.has(a)) ? ["*"] : ALL.filter((a) => allowed.has(a));
      } else {
        actions = [...new Set(s.actions)].filter((a) => allowed.has(a));
      }
      if (actions.length) out.push({ type: "repository", name: s.name, actions });
    }
    return out;
  }
}
