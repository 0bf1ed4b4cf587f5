/**
 * @module
 * Repository name patterns of the access policy: `*` matches within one path segment,
 * `**` across segments. `team/**` matches `team` itself, `team/a` and `team/a/b`;
 * `team/*` matches `team/a` only; `**` alone matches every repository.
 */

/**
 * Compiles `pattern`; throws on one that could never match a repository name (characters
 * names cannot hold, empty segments, `***`), so a typo cannot silently grant nothing.
 */
export function compileGlob(pattern: string): RegExp {
  if (
    !/^[a-z0-9._*/-]+$/.test(pattern) || pattern.includes("***") ||
    pattern.split("/").some((segment) => segment === "")
  ) {
    throw new Error(
      `"${pattern}" is not a repository pattern (segments of a-z 0-9 . _ - * ** between slashes)`,
    );
  }
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      // `a/**` also matches `a` itself; elsewhere `**` spans any characters.
      if (pattern[i - 1] === "/" && i + 2 === pattern.length) {
        re = re.slice(0, -1) + "(?:/.*)?";
      } else {
        re += ".*";
      }
      i++;
    } else if (c === "*") {
      re += "[^/]*";
    } else {
      re += c === "." ? "\\." : c;
    }
  }
  return new RegExp(`^${re}$`);
}
