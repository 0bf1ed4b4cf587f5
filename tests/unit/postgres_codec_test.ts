/**
 * @module
 * The PostgreSQL store's key form: its byte order is the interface's key order, it
 * decodes to the key it came from, and a prefix's range holds exactly the keys under it.
 */
import assert from "node:assert/strict";
import { compareKeys } from "../../drivers/metadata/memory.ts";
import {
  compareBytes,
  decodeKey,
  encodeKey,
  encodeValue,
  prefixRange,
} from "../../drivers/metadata/postgres_codec.ts";
import type { MetaKey } from "../../drivers/metadata/types.ts";

/** Characters that stress the order: NUL, its neighbours, UTF-8 lengths 1 to 4. */
const ALPHABET = ["\0", "\x01", "a", "b", "-", "/", "\x7f", "é", "\uffff", "😀", "日"];

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
}

function randomKeys(count: number, seed = 7): MetaKey[] {
  const next = random(seed);
  const pick = (n: number) => Math.floor(next() * n);
  return Array.from({ length: count }, () =>
    Array.from(
      { length: 1 + pick(3) },
      () => Array.from({ length: pick(4) }, () => ALPHABET[pick(ALPHABET.length)]).join(""),
    ));
}

Deno.test("postgres keys: byte order of the encoded form is key order", () => {
  const keys = randomKeys(2_000);
  const byKey = [...keys].sort(compareKeys);
  const byBytes = [...keys].sort((a, b) => compareBytes(encodeKey(a), encodeKey(b)));
  assert.deepEqual(byBytes, byKey);
  // Equal keys, and only they, encode alike.
  for (let i = 1; i < byKey.length; i++) {
    const same = compareKeys(byKey[i - 1], byKey[i]) === 0;
    assert.equal(compareBytes(encodeKey(byKey[i - 1]), encodeKey(byKey[i])) === 0, same);
  }
});

Deno.test("postgres keys: decoding gives back the key", () => {
  for (const key of [...randomKeys(500, 11), [""], ["", ""], ["\0"], ["a\0", "\0\0b"]]) {
    assert.deepEqual(decodeKey(encodeKey(key)), key);
  }
  assert.throws(() => decodeKey(new Uint8Array([0x61])), TypeError);
});

Deno.test("postgres keys: a prefix's range holds exactly the keys strictly under it", () => {
  const keys = randomKeys(1_500, 3);
  for (const prefix of [[], ["a"], ["a", ""], [""], ["\0"], ["a\0"], ["😀"]] as MetaKey[]) {
    const { above, below } = prefixRange(prefix);
    for (const key of keys) {
      const encoded = encodeKey(key);
      const inRange = compareBytes(encoded, above) > 0 && compareBytes(encoded, below) < 0;
      const under = key.length > prefix.length && prefix.every((p, i) => key[i] === p);
      assert.equal(inRange, under, `${JSON.stringify(key)} under ${JSON.stringify(prefix)}`);
    }
  }
});

Deno.test("postgres keys and values: what cannot be stored exactly is refused", () => {
  assert.throws(() => encodeKey(["a", "\ud800"]), TypeError, "a lone surrogate");
  const refused: [string, unknown][] = [
    ["a date", { at: new Date() }],
    ["bytes", new Uint8Array(2)],
    ["not a number", [NaN]],
    ["infinity", { n: Infinity }],
    ["a map", new Map()],
    ["a hole", [1, undefined]],
    ["a bigint", 1n],
    ["undefined", undefined],
    ["a function", { f: () => 1 }],
  ];
  for (const [what, value] of refused) {
    assert.throws(() => encodeValue(value, ["k"]), TypeError, what);
  }
  assert.equal(
    encodeValue({ a: [1, "x\0", null, true, { b: undefined }], n: -0.5 }, ["k"]),
    '{"a":[1,"x\\u0000",null,true,{}],"n":-0.5}',
  );
  assert.equal(encodeValue(Object.create(null), ["k"]), "{}");
});
