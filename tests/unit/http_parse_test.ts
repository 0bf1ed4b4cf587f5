import assert from "node:assert/strict";
import { HttpError } from "../../src/http/server/errors.ts";
import {
  framing,
  HeadScanner,
  MAX_HEADERS,
  parseHead,
  type RequestHead,
} from "../../src/http/server/parse.ts";

const enc = new TextEncoder();

/** Parses a whole head given as text. */
function head(text: string): RequestHead {
  const bytes = enc.encode(text);
  const end = new HeadScanner().scan(bytes);
  assert.equal(end, bytes.length, "the head ends where the text does");
  return parseHead(bytes);
}

function assertStatus(fn: () => unknown, status: number, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpError, `expected an HttpError, got ${e}`);
    assert.equal(e.status, status, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test("request heads: where they end", async (t) => {
  await t.step("the empty line ends a head, wherever the reads split it", () => {
    const bytes = enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT");
    for (let split = 1; split < bytes.length; split++) {
      const scanner = new HeadScanner();
      const first = scanner.scan(bytes.subarray(0, split));
      const end = first !== -1 ? first : scanner.scan(bytes);
      assert.equal(end, bytes.length - 4, `split at ${split}`);
    }
  });
  await t.step("an incomplete head is not an end", () => {
    assert.equal(new HeadScanner().scan(enc.encode("GET / HTTP/1.1\r\nHost: a\r\n")), -1);
  });
  await t.step("a bare LF is a 400", () => {
    assertStatus(() => new HeadScanner().scan(enc.encode("GET / HTTP/1.1\nHost: a\n\n")), 400);
    assertStatus(
      () => new HeadScanner().scan(enc.encode("GET / HTTP/1.1\r\nHost: a\n\r\n")),
      400,
      /bare LF/,
    );
  });
});

Deno.test("request heads: request line and fields", async (t) => {
  await t.step("method, target, version and fields (lower-cased, trimmed)", () => {
    const h = head(
      "PATCH /v2/a/blobs/uploads/x?_state=1 HTTP/1.1\r\nHost: reg:5000\r\n" +
        "Content-Type:  application/octet-stream \t\r\nX-Empty:\r\n\r\n",
    );
    assert.equal(h.method, "PATCH");
    assert.equal(h.target, "/v2/a/blobs/uploads/x?_state=1");
    assert.equal(h.minor, 1);
    assert.deepEqual(h.headers, [
      ["host", "reg:5000"],
      ["content-type", "application/octet-stream"],
      ["x-empty", ""],
    ]);
  });
  await t.step("HTTP/1.0 and later 1.x minors", () => {
    assert.equal(head("GET / HTTP/1.0\r\n\r\n").minor, 0);
    assert.equal(head("GET / HTTP/1.9\r\nHost: a\r\n\r\n").minor, 1);
  });
  await t.step("other major versions are a 505", () => {
    assertStatus(() => head("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, /HTTP\/2\.0/);
    assertStatus(() => head("GET / HTTP/0.9\r\n\r\n"), 505);
  });
  await t.step("malformed request lines are a 400", () => {
    for (
      const line of [
        "GET /  HTTP/1.1",
        "GET / HTTP/1.1 ",
        " GET / HTTP/1.1",
        "GET /\x7f HTTP/1.1",
        "GE(T / HTTP/1.1",
        "GET / HTTP/11",
        "GET /a\rb HTTP/1.1",
        "GET /é HTTP/1.1",
        "GET",
      ]
    ) {
      assertStatus(() => head(`${line}\r\nHost: a\r\n\r\n`), 400, /request line/);
    }
  });
  await t.step("malformed fields are a 400", () => {
    const cases: [string, RegExp][] = [
      ["Host : a", /malformed/],
      ["Ho st: a", /malformed/],
      [": a", /malformed/],
      ["NoColon", /malformed/],
      [" folded", /folded/],
      ["\tfolded", /folded/],
      ["X: a\x00b", /control character/],
      ["X: a\rb", /control character/],
      ["X: a\x1bb", /control character/],
    ];
    for (const [field, message] of cases) {
      assertStatus(() => head(`GET / HTTP/1.1\r\nHost: a\r\n${field}\r\n\r\n`), 400, message);
    }
  });
  await t.step("values keep ISO-8859-1 bytes as byte-string characters", () => {
    const bytes = new Uint8Array([...enc.encode("GET / HTTP/1.1\r\nX: caf"), 0xe9, 13, 10, 13, 10]);
    assert.deepEqual(parseHead(bytes).headers, [["x", "caf\u00e9"]]);
  });
  await t.step(`more than ${MAX_HEADERS} fields are a 431`, () => {
    const fields = Array.from({ length: MAX_HEADERS + 1 }, (_, i) => `X-${i}: v\r\n`).join("");
    assertStatus(() => head(`GET / HTTP/1.1\r\n${fields}\r\n`), 431, /header fields/);
    const ok = Array.from({ length: MAX_HEADERS }, (_, i) => `X-${i}: v\r\n`).join("");
    assert.equal(head(`GET / HTTP/1.1\r\n${ok}\r\n`).headers.length, MAX_HEADERS);
  });
});

Deno.test("request heads: body framing (RFC 9112 §6)", async (t) => {
  const frame = (fields: string, version = "1.1") =>
    framing(head(`POST / HTTP/${version}\r\n${fields}\r\n`));
  await t.step("no length: no body", () => {
    assert.deepEqual(frame("Host: a\r\n").body, { kind: "none" });
    assert.deepEqual(frame("Host: a\r\nContent-Length: 0\r\n").body, { kind: "none" });
  });
  await t.step("Content-Length, repeated with one value", () => {
    assert.deepEqual(frame("Host: a\r\nContent-Length: 42\r\n").body, {
      kind: "length",
      length: 42,
    });
    assert.deepEqual(frame("Host: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n").body, {
      kind: "length",
      length: 7,
    });
    assert.deepEqual(frame("Host: a\r\nContent-Length: 7, 7\r\n").body, {
      kind: "length",
      length: 7,
    });
  });
  await t.step("conflicting or invalid lengths are a 400", () => {
    for (
      const fields of [
        "Content-Length: 7\r\nContent-Length: 8\r\n",
        "Content-Length: 7, 8\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 0x10\r\n",
        "Content-Length: 1 2\r\n",
        "Content-Length: \r\n",
        "Content-Length: 9999999999999999\r\n",
      ]
    ) {
      assertStatus(() => frame(`Host: a\r\n${fields}`), 400, /Content-Length/);
    }
  });
  await t.step("chunked", () => {
    assert.deepEqual(frame("Host: a\r\nTransfer-Encoding: chunked\r\n").body, {
      kind: "chunked",
    });
    assert.deepEqual(frame("Host: a\r\nTransfer-Encoding: ChUnKeD\r\n").body, {
      kind: "chunked",
    });
  });
  await t.step("Transfer-Encoding with Content-Length is a 400 (smuggling)", () => {
    assertStatus(
      () => frame("Host: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
      400,
      /both/,
    );
    assertStatus(
      () => frame("Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
      400,
      /both/,
    );
  });
  await t.step("codings that do not end in one chunked are a 400; others are a 501", () => {
    for (const te of ["gzip", "chunked, gzip", "chunked, chunked", "identity", ""]) {
      assertStatus(() => frame(`Host: a\r\nTransfer-Encoding: ${te}\r\n`), 400, /chunked/);
    }
    assertStatus(
      () => frame("Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
      400,
    );
    assertStatus(() => frame("Host: a\r\nTransfer-Encoding: gzip, chunked\r\n"), 501);
  });
  await t.step("Transfer-Encoding on HTTP/1.0 is a 400", () => {
    assertStatus(() => frame("Transfer-Encoding: chunked\r\n", "1.0"), 400, /HTTP\/1\.0/);
  });
});

Deno.test("request heads: host, connection and expectations", async (t) => {
  const frame = (fields: string, version = "1.1") =>
    framing(head(`GET / HTTP/${version}\r\n${fields}\r\n`));
  await t.step("HTTP/1.1 needs exactly one valid Host", () => {
    assertStatus(() => frame(""), 400, /needs a Host/);
    assertStatus(() => frame("Host: a\r\nHost: b\r\n"), 400, /more than one Host/);
    for (const bad of ["a/b", "a b", "a@b", "[zz]", "a:1:2"]) {
      assertStatus(() => frame(`Host: ${bad}\r\n`), 400, /not a valid host/);
    }
    assert.equal(frame("Host: [::1]:5000\r\n").host, "[::1]:5000");
    assert.equal(frame("Host: 127.0.0.1\r\n").host, "127.0.0.1");
    assert.equal(frame("", "1.0").host, null);
  });
  await t.step("keep-alive by default on 1.1, on request on 1.0", () => {
    assert.equal(frame("Host: a\r\n").keepAlive, true);
    assert.equal(frame("Host: a\r\nConnection: close\r\n").keepAlive, false);
    assert.equal(frame("Host: a\r\nConnection: Keep-Alive, Close\r\n").keepAlive, false);
    assert.equal(frame("", "1.0").keepAlive, false);
    assert.equal(frame("Connection: keep-alive\r\n", "1.0").keepAlive, true);
  });
  await t.step("Expect: 100-continue is noted; other expectations are a 417", () => {
    assert.equal(frame("Host: a\r\nExpect: 100-Continue\r\n").expectContinue, true);
    assert.equal(frame("Host: a\r\n").expectContinue, false);
    assert.equal(frame("Expect: 100-continue\r\n", "1.0").expectContinue, false);
    assertStatus(() => frame("Host: a\r\nExpect: 200-ok\r\n"), 417, /200-ok/);
  });
});
