import assert from "node:assert/strict";
import {
  ChunkedDecoder,
  MAX_CHUNK_LINE,
  MAX_TRAILER_BYTES,
} from "../../src/http/server/chunked.ts";
import { HttpError } from "../../src/http/server/errors.ts";

const enc = new TextEncoder();

/**
 * Decodes `wire` fed in pieces of `step` bytes (as socket reads would deliver it) into an
 * output buffer of `out` bytes at a time. Returns the payload and the bytes left after the
 * body.
 */
function decodeAll(wire: Uint8Array, step: number, out = 1 << 16) {
  const decoder = new ChunkedDecoder();
  const payload: number[] = [];
  let buffered = new Uint8Array(0);
  let fed = 0;
  const dst = new Uint8Array(out);
  while (!decoder.done) {
    const used = decoder.decode(buffered, dst);
    payload.push(...dst.subarray(0, decoder.written));
    buffered = buffered.subarray(used);
    if (decoder.done) break;
    if (used === 0 && decoder.written === 0) {
      if (fed >= wire.length) throw new Error("the wire ended before the body");
      const more = wire.subarray(fed, fed + step);
      fed += more.length;
      const joined = new Uint8Array(buffered.length + more.length);
      joined.set(buffered);
      joined.set(more, buffered.length);
      buffered = joined;
    }
  }
  const rest = new Uint8Array([...buffered, ...wire.subarray(fed)]);
  return { payload: new Uint8Array(payload), rest };
}

function assertStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpError, `expected an HttpError, got ${e}`);
    assert.equal(e.status, status, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test("chunked bodies decode the same however reads split them", () => {
  const wire = enc.encode(
    '5\r\nhello\r\n1;ext=1;q="x"\r\n \r\nA \t;name\r\n0123456789\r\n' +
      "000\r\nTrailer: yes\r\nOther: 1\r\n\r\nGET / HTTP/1.1\r\n",
  );
  for (const step of [1, 2, 3, 7, 64, wire.length]) {
    for (const out of [1, 4, 1 << 16]) {
      const { payload, rest } = decodeAll(wire, step, out);
      assert.equal(new TextDecoder().decode(payload), "hello 0123456789", `step ${step}`);
      assert.equal(new TextDecoder().decode(rest), "GET / HTTP/1.1\r\n", `step ${step}`);
    }
  }
});

Deno.test("many small chunks in one read come out in one call", () => {
  const piece = "x".repeat(4096);
  const wire = enc.encode(`1000\r\n${piece}\r\n`.repeat(16) + "0\r\n\r\n");
  const decoder = new ChunkedDecoder();
  const dst = new Uint8Array(1 << 20);
  const used = decoder.decode(wire, dst);
  assert.equal(used, wire.length);
  assert.equal(decoder.written, 16 * 4096);
  assert.ok(decoder.done);
});

Deno.test("a chunk larger than the output buffer is handed out across calls", () => {
  const decoder = new ChunkedDecoder();
  const wire = enc.encode("a\r\n0123456789\r\n0\r\n\r\n");
  const dst = new Uint8Array(4);
  let at = 0;
  let text = "";
  while (!decoder.done) {
    at += decoder.decode(wire.subarray(at), dst);
    text += new TextDecoder().decode(dst.subarray(0, decoder.written));
  }
  assert.equal(text, "0123456789");
  assert.equal(at, wire.length);
});

Deno.test("hostile chunked bodies are refused", async (t) => {
  const refuse = (wire: string, status: number, message: RegExp) =>
    assertStatus(() => decodeAll(enc.encode(wire), wire.length), status, message);
  await t.step("sizes that are not hex, empty, signed or padded", () => {
    for (const size of ["g", "", "-1", "+1", " 1", "0x1", "1 2", "1,", "1\x00"]) {
      refuse(`${size}\r\nx\r\n0\r\n\r\n`, 400, /not hexadecimal/);
    }
  });
  await t.step("sizes beyond 2^52 (overflow) but leading zeros are fine", () => {
    refuse("fffffffffffffff\r\n", 400, /exceeds/);
    refuse("10000000000000\r\n", 400, /exceeds/);
    const { payload } = decodeAll(enc.encode("0000000000000000001\r\nx\r\n0\r\n\r\n"), 8);
    assert.equal(payload.length, 1);
  });
  await t.step("data not followed by CRLF", () => {
    refuse("3\r\nabcd\r\n0\r\n\r\n", 400, /not followed by CRLF/);
    refuse("3\r\nabc\n0\r\n\r\n", 400, /not followed by CRLF/);
  });
  await t.step("bare LF line ends", () => {
    refuse("3\nabc\r\n0\r\n\r\n", 400, /bare LF/);
    refuse("0\r\n\n", 400, /bare LF/);
  });
  await t.step("control characters in extensions and trailers", () => {
    refuse("3;a=\x01\r\nabc\r\n0\r\n\r\n", 400, /extension/);
    refuse("0\r\nX: a\x7f\r\n\r\n", 400, /control character/);
    refuse("0\r\nnot a field\r\n\r\n", 400, /malformed/);
  });
  await t.step(`a chunk-size line over ${MAX_CHUNK_LINE} bytes`, () => {
    const ext = ";" + "e".repeat(MAX_CHUNK_LINE);
    refuse(`1${ext}\r\nx\r\n0\r\n\r\n`, 400, /longer than/);
    // Even before its end arrives.
    const decoder = new ChunkedDecoder();
    assertStatus(
      () => decoder.decode(enc.encode(`1${ext}`), new Uint8Array(10)),
      400,
      /longer than/,
    );
  });
  await t.step(`trailers over ${MAX_TRAILER_BYTES} bytes are a 431`, () => {
    const field = `X: ${"v".repeat(1000)}\r\n`;
    refuse(`0\r\n${field.repeat(20)}\r\n`, 431, /trailer/);
  });
});

Deno.test("payload read around the decoder (straight from the socket) is accounted for", () => {
  const decoder = new ChunkedDecoder();
  const dst = new Uint8Array(100);
  // The size line arrives; the caller then reads 6 of the 10 payload bytes itself.
  assert.equal(decoder.decode(enc.encode("a\r\n"), dst), 3);
  assert.equal(decoder.dataLeft, 10);
  decoder.tookData(6);
  assert.equal(decoder.dataLeft, 4);
  assert.throws(() => decoder.tookData(5), RangeError);
  const rest = enc.encode("6789\r\n0\r\n\r\n");
  assert.equal(decoder.decode(rest, dst), rest.length);
  assert.equal(new TextDecoder().decode(dst.subarray(0, decoder.written)), "6789");
  assert.ok(decoder.done);
  assert.equal(decoder.dataLeft, 0);
});
