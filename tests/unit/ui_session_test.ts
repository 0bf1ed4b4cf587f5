/**
 * @module
 * UI sessions and CSRF tokens: signed, expiring, bound to their cookie, and refused when
 * altered; the secret is shared through the metadata store when `http.secret` is unset.
 */
import assert from "node:assert/strict";
import { MemoryMetadataStore } from "../../drivers/metadata/memory.ts";
import { readCookie, Sessions, setCookie, uiSecret } from "../../src/ui/session.ts";

const key = () => Promise.resolve(new TextEncoder().encode("k".repeat(32)));

Deno.test("a session says who until it expires, and not once altered", async () => {
  const s = new Sessions(key, 60_000);
  const value = await s.issue("alice", "fp1", 1_000);
  assert.deepEqual(await s.read(value, 2_000), {
    user: "alice",
    expires: 61_000,
    fingerprint: "fp1",
  });
  assert.equal(await s.read(value, 61_000), null, "expired");
  const [payload, mac] = value.split(".");
  const other = await s.issue("mallory", "fp1", 1_000);
  assert.equal(await s.read(`${other.split(".")[0]}.${mac}`, 2_000), null, "another payload");
  assert.equal(await s.read(`${payload}.${mac.slice(0, -2)}`, 2_000), null, "a cut signature");
  assert.equal(await s.read(payload, 2_000), null);
  assert.equal(await s.read("", 2_000), null);
  assert.equal(await s.read("x".repeat(5000), 2_000), null);
  const elsewhere = new Sessions(() => Promise.resolve(new Uint8Array(32)), 60_000);
  assert.equal(await elsewhere.read(value, 2_000), null, "another secret");
});

Deno.test("a CSRF token fits only its binding", async () => {
  const s = new Sessions(key, 60_000);
  const token = await s.csrfToken("cookie-a");
  assert.equal(await s.checkCsrf("cookie-a", token), true);
  assert.equal(await s.checkCsrf("cookie-b", token), false);
  assert.equal(await s.checkCsrf("cookie-a", token.slice(1)), false);
  assert.equal(await s.checkCsrf(null, token), false);
  assert.equal(await s.checkCsrf("cookie-a", null), false);
  // A session value is not a CSRF token of itself (the purposes are kept apart).
  const session = await s.issue("alice", "fp");
  assert.equal(await s.checkCsrf(session, session.split(".")[1]), false);
});

Deno.test("the UI secret comes from http.secret or is generated once in the store", async () => {
  const store = new MemoryMetadataStore();
  const a = await uiSecret(undefined, () => store)();
  const b = await uiSecret(undefined, () => store)();
  assert.deepEqual(a, b, "two instances disagree");
  assert.equal(a.byteLength, 32);
  const fixed = await uiSecret("configured", () => store)();
  assert.notDeepEqual(fixed, a);
  assert.deepEqual(fixed, await uiSecret("configured", () => new MemoryMetadataStore())());
});

Deno.test("cookies are HttpOnly, SameSite=Strict, Secure under TLS, and read back", () => {
  assert.equal(
    setCookie("berth_session", "v", { maxAgeMs: 3_600_000, secure: false }),
    "berth_session=v; Path=/ui; Max-Age=3600; HttpOnly; SameSite=Strict",
  );
  assert.match(setCookie("c", "", { maxAgeMs: 0, secure: true }), /Max-Age=0; .*; Secure$/);
  const request = new Request("http://x/", { headers: { Cookie: "a=1; berth_session=s.t ; b=2" } });
  assert.equal(readCookie(request, "berth_session"), "s.t");
  assert.equal(readCookie(request, "missing"), null);
});
