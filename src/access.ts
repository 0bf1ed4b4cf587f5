/**
 * @module
 * The access-control seam. `src/app.ts` asks the {@linkcode Authorizer} who is calling
 * and whether they may do what the route needs; handlers ask the returned
 * {@linkcode Access} for checks that depend on the request (mount sources, catalog
 * entries). Without auth configured, {@linkcode openAccess} allows everything.
 */

/** An action on a repository, or on the registry catalog. */
export type Action = "pull" | "push" | "delete" | "*";

/** What a request needs: `repository:<name>:<actions>` or `registry:catalog:*`. */
export interface Scope {
  type: "repository" | "registry";
  name: string;
  actions: Action[];
}

/** The caller's rights for the rest of the request. */
export interface Access {
  /** User name, or null for anonymous. */
  readonly subject: string | null;
  /** True when the caller may do `action` on repository `name`. */
  can(name: string, action: Action): Promise<boolean>;
  /** True when the caller may list the catalog. */
  canListCatalog(): Promise<boolean>;
}

/**
 * Decides who a request comes from. Throws a `RegistryError` (`UNAUTHORIZED` with a
 * challenge, `DENIED`, `TOOMANYREQUESTS`) when the request may not go on.
 */
export interface Authorizer {
  authorize(request: Request, needed: Scope[], client: string): Promise<Access>;
}

const ALLOW: Access = {
  subject: null,
  can: () => Promise.resolve(true),
  canListCatalog: () => Promise.resolve(true),
};

/** Everyone may do everything (no `auth:` configured). */
export const openAccess: Authorizer = {
  authorize: () => Promise.resolve(ALLOW),
};
