import assert from "node:assert/strict";
import { RegistryError } from "../../src/errors.ts";
import { statusOf } from "../../src/http/render_error.ts";
import { parseDigest, tryParseDigest } from "../../src/oci/digest.ts";

const SHA256 = "sha256:" + "a".repeat(64);
const SHA512 = "sha512:" + "0f".repeat(64);

Deno.test("digests: sha256 and sha512 parse, everything else is DIGEST_INVALID", async (t) => {
  await t.step("sha256 and sha512 are accepted", () => {
    assert.deepEqual(parseDigest(SHA256), {
      algorithm: "sha256",
      hex: "a".repeat(64),
      value: SHA256,
    });
    assert.equal(parseDigest(SHA512).algorithm, "sha512");
  });
  const bad: [string, RegExp][] = [
    ["", /required/],
    ["sha256:" + "A".repeat(64), /malformed/],
    ["sha256:" + "a".repeat(63), /malformed/],
    ["sha256:" + "a".repeat(65), /malformed/],
    ["sha512:" + "a".repeat(64), /malformed/],
    ["md5:" + "a".repeat(32), /algorithm "md5" is not supported/],
    ["sha256", /malformed/],
    ["sha256:", /malformed/],
    [":abc", /malformed/],
    ["sha256:../../etc/passwd", /malformed/],
    ["x".repeat(5000), /malformed/],
  ];
  for (const [value, message] of bad) {
    await t.step(`rejects ${JSON.stringify(value.slice(0, 30))}`, () => {
      assert.throws(() => parseDigest(value), (err: unknown) => {
        assert.ok(err instanceof RegistryError);
        assert.equal(err.code, "DIGEST_INVALID");
        assert.equal(statusOf(err), 400);
        assert.match(err.message, message);
        assert.ok(err.message.length < 400, "long input is truncated in messages");
        return true;
      });
      assert.equal(tryParseDigest(value), null);
    });
  }
});
