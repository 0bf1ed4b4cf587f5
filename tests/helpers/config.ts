/**
 * @module
 * Assertions on configuration refusals: a {@linkcode ConfigError} for the expected
 * setting, whose message names it first.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/mod.ts";

/** Asserts that `fn` throws a ConfigError for `setting` whose message matches `message`. */
export function assertConfigError(fn: () => unknown, setting: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.equal(e.setting, setting);
    assert.ok(e.message.startsWith(`Invalid configuration: ${setting} `), e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** Asserts that `promise` rejects with a ConfigError for `setting` matching `message`. */
export async function assertConfigRejects(
  promise: Promise<unknown>,
  setting: string,
  message: RegExp,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.equal(e.setting, setting);
    assert.match(e.message, message);
    return true;
  });
}
