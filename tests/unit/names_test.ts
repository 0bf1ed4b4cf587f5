import assert from "node:assert/strict";
import { RegistryError } from "../../src/errors.ts";
import { statusOf } from "../../src/http/render_error.ts";
import { assertName, assertTag, isValidName, isValidTag } from "../../src/oci/names.ts";

Deno.test("repository names follow the OCI grammar", async (t) => {
  await t.step("valid names", () => {
    for (
      const name of [
        "a",
        "library/alpine",
        "a/b/c/d",
        "my-app",
        "my__app",
        "my.app",
        "a---b",
        "x1/y2",
      ]
    ) assert.ok(isValidName(name), name);
  });
  await t.step("invalid names are NAME_INVALID", () => {
    for (
      const name of [
        "",
        "A",
        "a/",
        "/a",
        "a//b",
        "a_",
        "-a",
        "a..b",
        "a/_b",
        "a b",
        "a:b",
        "..",
        "a".repeat(256),
      ]
    ) {
      assert.ok(!isValidName(name), name);
      assert.throws(
        () => assertName(name),
        (e: unknown) =>
          e instanceof RegistryError && e.code === "NAME_INVALID" && statusOf(e) === 400,
      );
    }
  });
  await t.step("255 characters is the longest name", () => {
    assert.ok(isValidName("a".repeat(255)));
  });
});

Deno.test("tags follow the OCI grammar", async (t) => {
  await t.step("valid tags", () => {
    for (const tag of ["latest", "v1.0.0", "_x", "A-b_c.D", "a".repeat(128)]) {
      assert.ok(isValidTag(tag), tag);
    }
  });
  await t.step("invalid tags are TAG_INVALID", () => {
    for (const tag of ["", ".a", "-a", "a/b", "a:b", "a".repeat(129), "ä"]) {
      assert.ok(!isValidTag(tag), tag);
      assert.throws(
        () => assertTag(tag),
        (e: unknown) => e instanceof RegistryError && e.code === "TAG_INVALID",
      );
    }
  });
});
