/**
 * @module
 * The UI's templates escape every value; sizes, times and names read as intended; only
 * paths of the UI are followed after signing in.
 */
import assert from "node:assert/strict";
import { ago, bytes, platformName, referrerKind, shortDigest } from "../../src/ui/format.ts";
import { escapeHtml, html, trusted } from "../../src/ui/html.ts";
import { paths, safeNext } from "../../src/ui/paths.ts";

Deno.test("templates escape values, nested templates and arrays stay markup", () => {
  const evil = `<img src=x onerror="alert('1')">&`;
  assert.equal(
    html`<p title="${evil}">${evil}</p>`.text,
    '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;">' +
      "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;</p>",
  );
  const items = ["<a>", "b"].map((x) => html`<li>${x}</li>`);
  assert.equal(html`<ul>${items}</ul>`.text, "<ul><li>&lt;a&gt;</li><li>b</li></ul>");
  assert.equal(html`${null}${undefined}${false}${0}`.text, "0");
  assert.equal(html`${trusted("<br>")}`.text, "<br>");
  assert.equal(escapeHtml(`"'<>&`), "&quot;&#39;&lt;&gt;&amp;");
});

Deno.test("sizes, times, digests, platforms and referrer kinds read well", () => {
  assert.equal(bytes(512), "512 B");
  assert.equal(bytes(1536), "1.5 KiB");
  assert.equal(bytes(200 * 1024 * 1024), "200 MiB");
  assert.equal(bytes(-1), "-");
  const now = 1_700_000_000_000;
  assert.equal(ago(now - 10_000, now), "seconds ago");
  assert.equal(ago(now - 60_000, now), "1 minute ago");
  assert.equal(ago(now - 3 * 3600_000, now), "3 hours ago");
  assert.equal(ago(now - 2 * 86400_000, now), "2 days ago");
  assert.equal(ago(now + 5000, now), "just now");
  assert.equal(shortDigest(`sha256:${"ab".repeat(32)}`), "sha256:abababababab");
  assert.equal(
    platformName({ os: "linux", architecture: "arm64", variant: "v8" }),
    "linux/arm64/v8",
  );
  assert.equal(
    platformName({ os: "windows", architecture: "amd64", "os.version": "10.0" }),
    "windows/amd64 (10.0)",
  );
  assert.equal(referrerKind("application/vnd.dev.cosign.artifact.sig.v1+json"), "Signatures");
  assert.equal(referrerKind("application/vnd.cncf.notary.signature"), "Signatures");
  assert.equal(referrerKind("application/spdx+json"), "SBOMs");
  assert.equal(referrerKind("application/vnd.cyclonedx+json"), "SBOMs");
  assert.equal(referrerKind("application/vnd.in-toto+json"), "Attestations");
  assert.equal(referrerKind("application/vnd.example.thing"), "Other artifacts");
  assert.equal(referrerKind(undefined), "Other artifacts");
});

Deno.test("paths encode names and only UI paths are followed after sign-in", () => {
  assert.equal(paths.manifest("team/web", "sha256:ab"), "/ui/r/team/web/-/m/sha256%3Aab");
  assert.equal(paths.home("a b", null), "/ui/?q=a+b");
  assert.equal(paths.remove("x/y", { tag: "v1" }), "/ui/r/x/y/-/delete?tag=v1");
  for (
    const bad of ["//evil.example", "https://evil.example/ui/", "/v2/", "/ui\\x", "/ui/ x", null]
  ) {
    assert.equal(safeNext(bad), "/ui/", String(bad));
  }
  assert.equal(safeNext("/ui/r/team/web?after=x"), "/ui/r/team/web?after=x");
});
