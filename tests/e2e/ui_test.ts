/**
 * @module
 * The web UI over plain HTTP, bad paths first: `/` for browsers and the API unchanged,
 * strict escaping, headers and assets, quiet reads, pages filtered by the policy, CSRF
 * and origin checks on every form, sessions that end with a password change, throttled
 * sign-ins, safe redirects, deletes off, malformed paths and oversized forms.
 */
import assert from "node:assert/strict";
import type { CapabilityFactory } from "../../src/capability.ts";
import { createLogger } from "../../src/log.ts";
import { parseDigest } from "../../src/oci/digest.ts";
import type { RegistryEvent } from "../../src/registry/events.ts";
import type { Registry } from "../../src/registry/repository.ts";
import { assertError } from "../helpers/oci.ts";
import { htpasswdFile } from "../helpers/auth.ts";
import { startRegistry } from "../helpers/registry.ts";
import { pushImage } from "../helpers/ui_fixtures.ts";
import { PASSWORDS, seededRegistry, testAuth } from "../helpers/ui_registry.ts";

const HTML = { Accept: "text/html" };

/** A cookie jar for one visitor. */
class Visitor {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "text/html");
    if (this.cookies.size) {
      headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(this.base + path, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
      if (/Max-Age=0/.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** The page at `path` and the CSRF token of its first form. */
  async form(path: string): Promise<{ status: number; text: string; csrf: string }> {
    const res = await this.fetch(path);
    const text = await res.text();
    return { status: res.status, text, csrf: /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? "" };
  }

  post(path: string, fields: Record<string, string>, headers: HeadersInit = {}) {
    return this.fetch(path, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
    });
  }

  async signIn(user: string, password: string): Promise<Response> {
    const { csrf } = await this.form("/ui/login");
    return await this.post("/ui/login", { csrf, username: user, password, next: "/ui/" });
  }
}

Deno.test("/ sends browsers to the UI; the API and other clients see no change", async () => {
  const reg = await startRegistry();
  const off = await startRegistry({ doc: { berth: { ui: { enabled: false } } } });
  try {
    const res = await fetch(`${reg.url}/`, { headers: HTML, redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/ui/");
    assert.equal(res.headers.get("vary"), "Accept");
    await res.body?.cancel();
    await assertError(await fetch(`${reg.url}/`), 404, "UNSUPPORTED");
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      await assertError(await fetch(`${reg.url}/`, { method, headers: HTML }), 404, "UNSUPPORTED");
    }
    for (const r of [reg, off]) {
      const v2 = await fetch(`${r.url}/v2/`);
      assert.equal(v2.status, 200);
      assert.equal(v2.headers.get("docker-distribution-api-version"), "registry/2.0");
      await v2.body?.cancel();
    }
    // Turned off: no page at all, the API's own 404.
    await assertError(await fetch(`${off.url}/ui/`, { headers: HTML }), 404, "UNSUPPORTED");
    await assertError(await fetch(`${off.url}/`, { headers: HTML }), 404, "UNSUPPORTED");
    const head = await fetch(`${reg.url}/ui/`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  } finally {
    await reg.close();
    await off.close();
  }
});

Deno.test("content is escaped; pages carry a strict policy; assets are immutable", async () => {
  const events: RegistryEvent[] = [];
  const reg = await startRegistry({
    sinks: [{ record: () => [], notify: (e) => void events.push(...e) }],
  });
  try {
    const evil = `<script>alert("x")</script>`;
    const img = await pushImage(reg.url, "esc/app", "v1", {
      labels: { "com.example.note": evil },
      annotations: { "org.example.title": `"><img src=x onerror=alert(1)>` },
      entrypoint: ["</code><b>bold</b>"],
    });
    events.length = 0;
    const res = await fetch(`${reg.url}/ui/r/esc/app/-/m/v1`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(!text.includes(evil) && text.includes("&lt;script&gt;alert(&quot;x&quot;)"));
    assert.ok(!text.includes("<img src=x") && text.includes("&quot;&gt;&lt;img src=x"));
    assert.ok(!text.includes("<b>bold</b>"));
    assert.ok(text.includes(img.digest));
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.match(res.headers.get("content-type") ?? "", /^text\/html; charset=utf-8/);
    // A search is shown back escaped.
    const search = await (await fetch(`${reg.url}/ui/?q=${encodeURIComponent("<b>x")}`)).text();
    assert.ok(search.includes("&lt;b&gt;x") && !search.includes("<b>x"));
    // Looking is not pulling: no pull events from pages.
    await (await fetch(`${reg.url}/ui/r/esc/app`)).text();
    assert.deepEqual(events.map((e) => e.type), []);

    const css = /href="(\/ui\/assets\/style\.[0-9a-f]{12}\.css)"/.exec(text)?.[1];
    const js = /src="(\/ui\/assets\/app\.[0-9a-f]{12}\.js)"/.exec(text)?.[1];
    assert.ok(css && js, "the page links no hashed assets");
    for (const [path, type] of [[css, "text/css"], [js, "text/javascript"]]) {
      const asset = await fetch(reg.url + path);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get("content-type") ?? "", new RegExp(`^${type}`));
      assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.ok((await asset.text()).length > 100);
    }
    const missing = await fetch(`${reg.url}/ui/assets/style.000000000000.css`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await reg.close();
  }
});

Deno.test("malformed paths and references are HTML errors with the API's statuses", async () => {
  const reg = await seededRegistry();
  try {
    const cases: [string, number, RegExp][] = [
      ["/ui/r/Not_A_Name", 400, /invalid/],
      ["/ui/r/team/web?after=nonsense", 400, /Cursor &quot;nonsense&quot; is invalid/],
      ["/ui/r/team/nothing", 404, /no repository team\/nothing/],
      ["/ui/r/team/web/-/m/no%20such", 404, /no manifest/],
      [`/ui/r/team/web/-/m/sha256:${"0".repeat(64)}`, 404, /no manifest/],
      ["/ui/r/team/web/-/delete", 400, /Name a valid tag or digest/],
      ["/ui/r/team/web/-/delete?tag=nope", 404, /no tag nope/],
      ["/ui/elsewhere", 404, /no such page/],
    ];
    for (const [path, status, message] of cases) {
      const res = await fetch(reg.url + path, { headers: HTML });
      const text = await res.text();
      assert.equal(res.status, status, `${path}: ${text.slice(0, 300)}`);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/, path);
      assert.match(text, message, path);
    }
    // A form larger than any the UI sends.
    const big = await fetch(`${reg.url}/ui/r/team/web/-/delete`, {
      method: "POST",
      body: "csrf=" + "x".repeat(100_000),
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    assert.equal(big.status, 413);
    await big.body?.cancel();
  } finally {
    await reg.close();
  }
});

Deno.test("many repositories and tags come a page at a time", async () => {
  const reg = await startRegistry();
  try {
    const registry = reg.runtime.deps.registry;
    const who = { actor: null, requestId: "", addr: "", userAgent: "", method: "PUT", host: "" };
    const img = await pushImage(reg.url, "page/r00", "t0");
    const bytes = new TextEncoder().encode(JSON.stringify(img.doc));
    for (let i = 1; i < 55; i++) {
      // The same blobs mounted, the same manifest: 55 repositories.
      const repo = registry.repository(`page/r${String(i).padStart(2, "0")}`, who);
      const blobs = [img.doc.config, ...img.doc.layers as unknown[]] as { digest: string }[];
      for (const d of blobs) {
        await repo.blobs.mount(parseDigest(d.digest), "page/r00", () => Promise.resolve(true));
      }
      await repo.manifests.put("t0", bytes, "application/vnd.oci.image.manifest.v1+json", []);
    }
    const repo = registry.repository("page/r00", who);
    const tags = Array.from({ length: 60 }, (_, i) => `t${i + 1}`);
    for (let i = 0; i < tags.length; i += 20) {
      await repo.manifests.put(
        tags[i],
        bytes,
        "application/vnd.oci.image.manifest.v1+json",
        tags.slice(i + 1, i + 20),
      );
      await new Promise((r) => setTimeout(r, 3));
    }
    const first = await (await fetch(`${reg.url}/ui/`)).text();
    assert.equal((first.match(/<tr>/g) ?? []).length - 1, 50);
    const next = /href="(\/ui\/\?after=[^"]+)" rel="next"/.exec(first)?.[1];
    assert.ok(next, "no next page");
    const second = await (await fetch(reg.url + next.replaceAll("&amp;", "&"))).text();
    assert.equal((second.match(/<tr>/g) ?? []).length - 1, 5);
    assert.ok(second.includes("page/r54") && !second.includes('rel="next"'));

    const page1 = await (await fetch(`${reg.url}/ui/r/page/r00`)).text();
    const rows1 = [...page1.matchAll(/data-tag="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(rows1.length, 50);
    // The summary may still be counting on a busy machine: it is ready on a later view.
    let counted = page1.includes("61 tags");
    for (let i = 0; i < 20 && !counted; i++) {
      await new Promise((r) => setTimeout(r, 100));
      counted = (await (await fetch(`${reg.url}/ui/r/page/r00`)).text()).includes("61 tags");
    }
    assert.ok(counted, "the summary does not count every tag");
    const older = /href="(\/ui\/r\/page\/r00\?after=[^"]+)" rel="next"/.exec(page1)?.[1];
    assert.ok(older);
    const page2 = await (await fetch(reg.url + older)).text();
    const rows2 = [...page2.matchAll(/data-tag="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(rows2.length, 11);
    assert.equal(new Set([...rows1, ...rows2]).size, 61);
    assert.equal(rows2[rows2.length - 1], "t0", "the oldest tag comes last");
  } finally {
    await reg.close();
  }
});

Deno.test("pages show a visitor only what the policy lets them pull", async () => {
  const reg = await seededRegistry({ doc: { auth: await testAuth() } });
  try {
    const anon = new Visitor(reg.url);
    const list = await (await anon.fetch("/ui/")).text();
    assert.ok(list.includes("public/tools") && !list.includes("team/"));
    assert.match(list, /href="\/ui\/login\?next=/);
    const hidden = await anon.fetch("/ui/r/team/web/-/m/v2");
    assert.equal(hidden.status, 404);
    assert.ok(!(await hidden.text()).includes(reg.seeded.index.digest));
    assert.equal((await anon.fetch("/ui/registry")).status, 401);

    const alice = new Visitor(reg.url);
    const signed = await alice.signIn("alice", PASSWORDS.alice);
    assert.equal(signed.status, 303);
    assert.equal(signed.headers.get("location"), "/ui/");
    const cookie = signed.headers.getSetCookie().find((c) => c.startsWith("berth_session="));
    assert.match(cookie ?? "", /; Path=\/ui; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const all = await (await alice.fetch("/ui/")).text();
    for (const r of ["public/tools", "team/api", "team/web", "team/worker"]) {
      assert.ok(all.includes(r));
    }
    const registryPage = await (await alice.fetch("/ui/registry")).text();
    assert.match(registryPage, /data-usage>[\d.]+ KiB/);

    // Over TLS (as a proxy in front says) the cookie is Secure.
    const tls = new Visitor(reg.url);
    const { csrf } = await tls.form("/ui/login");
    const secure = await tls.post(
      "/ui/login",
      { csrf, username: "alice", password: PASSWORDS.alice },
      { "X-Forwarded-Proto": "https" },
    );
    assert.match(secure.headers.getSetCookie().join("\n"), /berth_session=.*; Secure/);

    // A forged or altered session is an anonymous visitor, and the cookie is dropped.
    const forged = new Visitor(reg.url);
    forged.cookies.set("berth_session", alice.cookies.get("berth_session")!.replace(/.$/, "A"));
    const asForged = await forged.fetch("/ui/");
    assert.ok(!(await asForged.text()).includes("team/web"));
    assert.ok(!forged.cookies.has("berth_session"), "the bad cookie was kept");
  } finally {
    await reg.close();
  }
});

Deno.test("every form needs its CSRF token, from this site, and the right to delete", async () => {
  const reg = await seededRegistry({ doc: { auth: await testAuth() } });
  try {
    const alice = new Visitor(reg.url);
    await alice.signIn("alice", PASSWORDS.alice);
    const { csrf } = await alice.form("/ui/r/team/api/-/delete?tag=1.0");
    assert.ok(csrf);
    const tagged = async () =>
      (await (await alice.fetch("/ui/r/team/api")).text()).includes('data-tag="1.0"');
    const refused: [string, Record<string, string>, HeadersInit][] = [
      ["no token", { tag: "1.0" }, {}],
      ["a wrong token", { tag: "1.0", csrf: csrf.replace(/^./, "Z") }, {}],
      ["another origin", { tag: "1.0", csrf }, { Origin: "http://evil.example" }],
      ["another site", { tag: "1.0", csrf }, { "Sec-Fetch-Site": "cross-site" }],
    ];
    for (const [why, fields, headers] of refused) {
      const res = await alice.post("/ui/r/team/api/-/delete", fields, headers);
      assert.equal(res.status, 403, why);
      await res.body?.cancel();
      assert.ok(await tagged(), `the tag went with ${why}`);
    }
    // Someone else's token does not do either.
    const bob = new Visitor(reg.url);
    await bob.signIn("bob", PASSWORDS.bob);
    const bobs = (await bob.form("/ui/r/public/tools")).csrf;
    assert.equal(
      (await alice.post("/ui/r/team/api/-/delete", { tag: "1.0", csrf: bobs })).status,
      403,
    );
    // Bob, with his own valid token, may not delete.
    const denied = await bob.post("/ui/r/public/tools/-/delete", { tag: "stable", csrf: bobs });
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /may not delete/);
    // Signing out needs the token as well.
    assert.equal((await alice.post("/ui/logout", {})).status, 403);

    const done = await alice.post("/ui/r/team/api/-/delete", { tag: "1.0", csrf }, {
      Origin: reg.url,
      "Sec-Fetch-Site": "same-origin",
    });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get("location"), "/ui/r/team/api?deleted=tag+1.0");
    assert.equal(await tagged(), false);
    // A manifest by digest goes with its tags.
    const digest = reg.seeded.index.digest;
    const confirm = await alice.form(`/ui/r/team/web/-/delete?digest=${digest}`);
    assert.match(
      confirm.text,
      /together with its tags <strong>latest<\/strong>, <strong>v2<\/strong>/,
    );
    const gone = await alice.post("/ui/r/team/web/-/delete", { digest, csrf: confirm.csrf });
    assert.equal(gone.status, 303);
    assert.equal((await alice.fetch(`/ui/r/team/web/-/m/${digest}`)).status, 404);
  } finally {
    await reg.close();
  }
});

Deno.test("sign-in: safe redirects, throttling, and sessions end with the password", async () => {
  const path = await htpasswdFile({ ...PASSWORDS });
  const auth = await testAuth();
  (auth.htpasswd as { path: string }).path = path;
  const logs: string[] = [];
  const logger = createLogger({ level: "debug", instanceId: "t", write: (_, l) => logs.push(l) });
  const reg = await seededRegistry({ doc: { auth }, logger });
  try {
    const v = new Visitor(reg.url);
    for (const next of ["//evil.example/x", "https://evil.example/", "/v2/_catalog", "/ui\\@x"]) {
      const { csrf } = await v.form("/ui/login");
      const res = await v.post("/ui/login", {
        csrf,
        username: "bob",
        password: PASSWORDS.bob,
        next,
      });
      assert.equal(res.headers.get("location"), "/ui/", next);
    }
    const { csrf } = await v.form("/ui/login");
    const back = await v.post("/ui/login", {
      csrf,
      username: "alice",
      password: PASSWORDS.alice,
      next: "/ui/r/team/web",
    });
    assert.equal(back.headers.get("location"), "/ui/r/team/web");
    assert.ok((await (await v.fetch("/ui/")).text()).includes("team/web"));

    // A new password ends the session at its next request.
    const [other] = await Promise.all([htpasswdFile({ alice: "changed", bob: PASSWORDS.bob })]);
    await Deno.rename(other, path);
    const later = new Date(Date.now() + 5000);
    await Deno.utime(path, later, later);
    await new Promise((r) => setTimeout(r, 1100)); // the file is looked at once a second
    assert.ok(!(await (await v.fetch("/ui/")).text()).includes("team/web"));

    // Ten failures from one address, then 429 even for the right password.
    const t = new Visitor(reg.url);
    for (let i = 0; i < 10; i++) {
      const res = await t.signIn("alice", "wrong");
      assert.equal(res.status, 401);
      await res.body?.cancel();
    }
    const throttled = await t.signIn("alice", "changed");
    assert.equal(throttled.status, 429);
    assert.match(await throttled.text(), /Too many failed sign-ins/);
    // No password ever reaches the log.
    assert.ok(logs.some((l) => l.includes('"login failed"') && l.includes('"scheme":"ui"')));
    assert.ok(!logs.some((l) => l.includes("wrong") || l.includes(PASSWORDS.alice)));
  } finally {
    await reg.close();
    await Deno.remove(path).catch(() => {});
  }
});

Deno.test("without deletes, or behind an external token server, the UI says what it cannot do", async () => {
  const noDelete = await seededRegistry({ doc: { storage: { delete: { enabled: false } } } });
  try {
    const v = new Visitor(noDelete.url);
    const page = await (await v.fetch("/ui/r/team/api")).text();
    assert.ok(!page.includes("Delete tag"));
    assert.equal((await v.fetch("/ui/r/team/api/-/delete?tag=1.0")).status, 405);
    // An open registry has no sign-in, and a POST without a valid token does nothing.
    assert.equal((await v.fetch("/ui/login")).status, 404);
    const res = await v.post("/ui/r/team/api/-/delete", { tag: "1.0", csrf: "x" });
    assert.equal(res.status, 403);
    await res.body?.cancel();
    assert.ok((await (await v.fetch("/ui/r/team/api")).text()).includes('data-tag="1.0"'));
  } finally {
    await noDelete.close();
  }
  const jwks = await Deno.makeTempFile({ suffix: ".json" });
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const key = { ...await crypto.subtle.exportKey("jwk", pair.publicKey), kid: "k1", alg: "ES256" };
  await Deno.writeTextFile(jwks, JSON.stringify({ keys: [key] }));
  const external = await seededRegistry({
    doc: {
      auth: {
        token: { realm: "https://auth.example/token", service: "reg", issuer: "iss", jwks },
      },
    },
  });
  try {
    const v = new Visitor(external.url);
    const list = await (await v.fetch("/ui/")).text();
    assert.match(list, /external token server/);
    assert.ok(!list.includes("team/"));
    assert.equal((await v.fetch("/ui/login")).status, 404);
  } finally {
    await external.close();
    await Deno.remove(jwks);
  }
});

Deno.test("the registry page shows storage used and what wrapping capabilities report", async () => {
  const reporting: CapabilityFactory = () =>
    Promise.resolve({
      name: "reporting",
      wrap: (inner: Registry): Registry => ({
        ...inner,
        status: async () => [
          ...(await inner.status?.() ?? []),
          {
            title: "Garbage collection",
            items: [{ label: "Last run", value: "<never>" }],
          },
        ],
      }),
    });
  const reg = await seededRegistry({ capabilities: [reporting] });
  try {
    const text = await (await fetch(`${reg.url}/ui/registry`)).text();
    assert.match(text, /<h2>Garbage collection<\/h2>/);
    assert.match(text, /<dt>Last run<\/dt>\s*<dd>&lt;never&gt;<\/dd>/);
    const usage = await reg.runtime.deps.registry.usage!();
    assert.ok(usage.blobs > 10);
    assert.ok(text.includes(`in ${usage.blobs} blobs, each counted once`));
    assert.match(text, /blobs:memory/);
  } finally {
    await reg.close();
  }
});
