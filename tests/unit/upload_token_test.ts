import assert from "node:assert/strict";
import { UploadTokens } from "../../src/upload_token.ts";

Deno.test("upload state tokens are signed with the secret", async (t) => {
  const tokens = new UploadTokens("s3cret");
  const state = { repo: "a/b", id: crypto.randomUUID(), offset: 1234, started: Date.now() };
  const token = tokens.sign(state);

  await t.step("a token round-trips", () => {
    assert.deepEqual(tokens.verify(token), state);
  });
  await t.step("another secret rejects it", () => {
    assert.equal(new UploadTokens("other").verify(token), null);
  });
  await t.step("a tampered payload is rejected", () => {
    const [payload, mac] = token.split(".");
    const forged = btoa(JSON.stringify(["a/b", state.id, 999999, state.started]))
      .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    assert.notEqual(forged, payload);
    assert.equal(tokens.verify(`${forged}.${mac}`), null);
  });
  await t.step("garbage is rejected", () => {
    for (const bad of ["", ".", "abc", `${token}x`, "a.b.c", "x".repeat(5000)]) {
      assert.equal(tokens.verify(bad), null, bad.slice(0, 20));
    }
  });
});
