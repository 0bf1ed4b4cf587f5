/**
 * @module
 * Repository name patterns of the access policy: `*` matches within one path segment,
 * `**` across segments (`team/**` matches `team/a` and `team/a/b`).
 */

/** Throws on a pattern that cannot match a repository name. */
export function compileGlob(pattern: string): RegExp {
  if (!/^[a-z0-9._*/-]+$/.test(pattern) || pattern.includes("***")) {
    throw new Error(`"${pattern}" is not a repository pattern (use a-z 0-9 . _ - / * **)`);
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
      re += c.replace(/[.]/g, "\\.");
    }
  }
  return new RegExp(`^${re}$`);
}
