/**
 * @module
 * Every URL of the web UI, built in one place. Repository names contain slashes, so a
 * repository's own pages follow `/-/`, which no name can contain as a path component
 * (components start and end with a letter or digit).
 *
 * ```
 * /ui/                          repositories (?q= search, ?after= next page)
 * /ui/r/<name>                  a repository's tags, newest first (?after= next page)
 * /ui/r/<name>/-/m/<reference>  a manifest or index, by digest or tag
 * /ui/r/<name>/-/delete         confirm (GET ?tag= or ?digest=) and delete (POST)
 * /ui/registry                  storage used, backends, what capabilities report
 * /ui/login  /ui/logout         sign in (GET form, POST) and out (POST)
 * /ui/assets/<file>             the stylesheet and script, named by their content hash
 * ```
 */

/** Prefix of every UI path. */
export const UI = "/ui";

function query(params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Each path component of a repository name, percent-encoded (names are plain already). */
function encodeName(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** URLs of the UI. */
export const paths = {
  home: (q?: string | null, after?: string | null) => `${UI}/${query({ q, after })}`,
  repository: (name: string, after?: string | null, deleted?: string | null) =>
    `${UI}/r/${encodeName(name)}${query({ after, deleted })}`,
  manifest: (name: string, reference: string) =>
    `${UI}/r/${encodeName(name)}/-/m/${encodeURIComponent(reference)}`,
  remove: (name: string, target?: { tag?: string; digest?: string }) =>
    `${UI}/r/${encodeName(name)}/-/delete${query({ tag: target?.tag, digest: target?.digest })}`,
  registry: () => `${UI}/registry`,
  login: (next?: string | null) => `${UI}/login${query({ next })}`,
  logout: () => `${UI}/logout`,
  asset: (file: string) => `${UI}/assets/${file}`,
} as const;

/**
 * `next` when it is a path of this UI (after signing in, the visitor goes back there);
 * anything else, such as `//evil.example` or an absolute URL, is the home page.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith(`${UI}/`) || next.startsWith("//") || /[\\\s]/.test(next)) {
    return paths.home();
  }
  return next;
}
