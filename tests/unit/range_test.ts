import assert from "node:assert/strict";
import { RegistryError } from "../../src/errors.ts";
import { statusOf } from "../../src/http/render_error.ts";
import { parseContentRange, parseLength, resolveRange } from "../../src/oci/range.ts";

Deno.test("Range headers on blob reads", async (t) => {
  await t.step("absent or unparseable ranges serve the whole blob", () => {
    for (const h of [null, "", "bytes=", "items=0-1", "bytes=0-1,3-4", "bytes=5-2", "bytes=-"]) {
      assert.deepEqual(resolveRange(h, 100), { kind: "full" }, String(h));
    }
  });
  await t.step("single ranges resolve and clamp", () => {
    assert.deepEqual(resolveRange("bytes=0-0", 100), {
      kind: "partial",
      range: { start: 0, end: 0 },
    });
    assert.deepEqual(resolveRange("bytes=10-", 100), {
      kind: "partial",
      range: { start: 10, end: 99 },
    });
    assert.deepEqual(resolveRange("bytes=90-500", 100), {
      kind: "partial",
      range: { start: 90, end: 99 },
    });
    assert.deepEqual(resolveRange("bytes=-10", 100), {
      kind: "partial",
      range: { start: 90, end: 99 },
    });
    assert.deepEqual(resolveRange("bytes=-500", 100), {
      kind: "partial",
      range: { start: 0, end: 99 },
    });
  });
  await t.step("ranges past the end are unsatisfiable", () => {
    assert.deepEqual(resolveRange("bytes=100-", 100), { kind: "unsatisfiable" });
    assert.deepEqual(resolveRange("bytes=0-0", 0), { kind: "unsatisfiable" });
    assert.deepEqual(resolveRange("bytes=-0", 100), { kind: "unsatisfiable" });
  });
});

Deno.test("Content-Range headers on upload chunks", async (t) => {
  await t.step("accepted forms", () => {
    assert.equal(parseContentRange(null), null);
    assert.deepEqual(parseContentRange("0-99"), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange("bytes 100-199/1000"), { start: 100, end: 199 });
    assert.deepEqual(parseContentRange("bytes=5-5"), { start: 5, end: 5 });
  });
  await t.step("malformed ranges are RANGE_INVALID", () => {
    for (const h of ["", "abc", "5-4", "-5", "1-", "99999999999999999999-1"]) {
      assert.throws(
        () => parseContentRange(h),
        (e: unknown) =>
          e instanceof RegistryError && e.code === "RANGE_INVALID" && statusOf(e) === 416,
        h,
      );
    }
  });
  await t.step("Content-Length must be a plain integer", () => {
    assert.equal(parseLength("42", "Content-Length"), 42);
    assert.equal(parseLength(null, "Content-Length"), null);
    assert.throws(() => parseLength("-1", "Content-Length"), /not a valid size/);
    assert.throws(() => parseLength("1e3", "Content-Length"), /not a valid size/);
  });
});
