/**
 * Berth's HTTP/1.1 listener over raw sockets: framing, keep-alive and pipelining, interim
 * responses and hostile requests.
 */
import assert from "node:assert/strict";
import { echo, json, sha, withServer } from "../helpers/listener.ts";
import { randomBytes } from "../helpers/oci.ts";
import { chunked, concat, RawClient } from "../helpers/raw_http.ts";

const enc = new TextEncoder();

Deno.test("listener: keep-alive, pipelining and bodies", async (t) => {
  await withServer(echo, async (port) => {
    await t.step("two requests on one connection; the connection stays open", async () => {
      const c = await RawClient.connect(port);
      try {
        await c.write("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        const first = await c.response();
        assert.equal(first.status, 200);
        assert.equal(first.headers.connection, undefined);
        assert.ok(first.headers.date);
        await c.write("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
        const second = json((await c.response()).text());
        assert.deepEqual([second.method, second.path, second.length], ["POST", "/b", 3]);
      } finally {
        c.close();
      }
    });
    await t.step("pipelined requests are answered in order", async () => {
      const c = await RawClient.connect(port);
      try {
        const body = randomBytes(70_000);
        await c.write(concat([
          enc.encode("PUT /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
          chunked(body, 1000),
          enc.encode("GET /2?q=1 HTTP/1.1\r\nHost: x\r\n\r\n"),
          enc.encode(`POST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`),
          body,
          enc.encode("\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ]));
        const got = [];
        for (let i = 0; i < 4; i++) got.push(json((await c.response()).text()));
        assert.deepEqual(got.map((r) => r.path), ["/1", "/2?q=1", "/3", "/4"]);
        assert.deepEqual(got.map((r) => r.length), [body.length, 0, body.length, 0]);
        assert.equal(got[0].sha, sha(body));
        assert.equal(got[2].sha, sha(body));
        assert.ok(await c.closedWithin(2000), "closed after Connection: close");
      } finally {
        c.close();
      }
    });
    await t.step("a chunked body cut anywhere, with extensions and trailers", async () => {
      const body = randomBytes(300_000);
      const wire = concat([
        enc.encode("PATCH /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
        chunked(body, 4096, "Digest: none\r\n").slice(),
      ]);
      const c = await RawClient.connect(port);
      try {
        for (let at = 0; at < wire.length; at += 9973) await c.write(wire.subarray(at, at + 9973));
        const r = json((await c.response()).text());
        assert.deepEqual([r.length, r.sha], [body.length, sha(body)]);
      } finally {
        c.close();
      }
    });
    await t.step("HEAD gets the fields and no body; the connection goes on", async () => {
      await withServer(
        () => new Response("hello", { headers: { "content-length": "5" } }),
        async (port) => {
          const c = await RawClient.connect(port);
          try {
            await c.write("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
            const head = await c.response({ head: true });
            assert.equal(head.headers["content-length"], "5");
            const get = await c.response();
            assert.equal(get.text(), "hello");
          } finally {
            c.close();
          }
        },
      );
    });
    await t.step("empty lines before a request line are ignored", async () => {
      const c = await RawClient.connect(port);
      try {
        await c.write("\r\n\r\nGET /e HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal(json((await c.response()).text()).path, "/e");
      } finally {
        c.close();
      }
    });
  });
});

Deno.test("listener: HTTP/1.0, Connection: close and response framing", async (t) => {
  const streamed = (parts: string[]) =>
    new Response(
      new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(enc.encode(p));
          c.close();
        },
      }),
    );
  await withServer(
    (request) =>
      new URL(request.url).pathname === "/stream" ? streamed(["ab", "cd"]) : echo(request, {
        remoteAddr: { transport: "tcp", hostname: "", port: 0 },
      }),
    async (port) => {
      await t.step("HTTP/1.0 without Host is answered and closed", async () => {
        const c = await RawClient.connect(port);
        try {
          await c.write("GET /old HTTP/1.0\r\n\r\n");
          const r = await c.response();
          assert.equal(json(r.text()).path, "/old");
          assert.equal(r.headers.connection, "close");
          assert.ok(await c.closedWithin(2000));
        } finally {
          c.close();
        }
      });
      await t.step("HTTP/1.0 keep-alive on request", async () => {
        const c = await RawClient.connect(port);
        try {
          await c.write("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
          const r = await c.response();
          assert.equal(r.headers.connection, "keep-alive");
          await c.write("GET /2 HTTP/1.0\r\n\r\n");
          assert.equal(json((await c.response()).text()).path, "/2");
        } finally {
          c.close();
        }
      });
      await t.step("a body of unknown length: chunked on 1.1, until the close on 1.0", async () => {
        const c = await RawClient.connect(port);
        try {
          await c.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
          const r = await c.response();
          assert.deepEqual([r.framing, r.text()], ["chunked", "abcd"]);
          await c.write("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
          const old = await c.response();
          assert.deepEqual([old.framing, old.text()], ["close", "abcd"]);
        } finally {
          c.close();
        }
      });
      await t.step("Connection: close from the client closes after the response", async () => {
        const c = await RawClient.connect(port);
        try {
          await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
          assert.equal((await c.response()).headers.connection, "close");
          assert.ok(await c.closedWithin(2000));
        } finally {
          c.close();
        }
      });
    },
  );
  await t.step("a body shorter than its Content-Length ends the connection", async () => {
    await withServer(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array(100_000));
              c.close();
            },
          }),
          { headers: { "content-length": "200000" } },
        ),
      async (port) => {
        const c = await RawClient.connect(port);
        try {
          await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          await assert.rejects(c.response(), /closed before a whole response/);
        } finally {
          c.close();
        }
      },
    );
  });
  await t.step("a large byte-stream body arrives whole (pooled BYOB reads)", async () => {
    const data = randomBytes(5 * 1024 * 1024 + 17);
    await withServer(
      () => {
        let at = 0;
        const body = new ReadableStream({
          type: "bytes",
          pull(c) {
            const view = c.byobRequest!.view!;
            const n = Math.min(view.byteLength, data.length - at, 300_000);
            new Uint8Array(view.buffer, view.byteOffset, n).set(data.subarray(at, at + n));
            at += n;
            c.byobRequest!.respond(n);
            if (at === data.length) c.close();
          },
        });
        return new Response(body, { headers: { "content-length": String(data.length) } });
      },
      async (port) => {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        assert.equal(sha(await res.bytes()), sha(data));
      },
    );
  });
});

Deno.test("listener: Expect: 100-continue", async (t) => {
  await t.step("100 Continue comes when the handler reads the body", async () => {
    await withServer(echo, async (port) => {
      const c = await RawClient.connect(port);
      try {
        await c.write(
          "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        );
        assert.equal((await c.response()).status, 100);
        await c.write("hello");
        const r = await c.response();
        assert.equal(json(r.text()).length, 5);
      } finally {
        c.close();
      }
    });
  });
  await t.step(
    "no 100 when the handler answers without the body; the connection closes",
    async () => {
      await withServer(() => new Response(null, { status: 401 }), async (port) => {
        const c = await RawClient.connect(port);
        try {
          await c.write(
            "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
          );
          const r = await c.response();
          assert.equal(r.status, 401);
          assert.equal(r.headers.connection, "close");
          assert.ok(await c.closedWithin(3000));
        } finally {
          c.close();
        }
      });
    },
  );
});

Deno.test("listener: hostile requests get 4xx and a closed connection", async (t) => {
  let handled = 0;
  await withServer(async (request) => {
    handled++;
    return await echo(request, { remoteAddr: { transport: "tcp", hostname: "", port: 0 } });
  }, async (port) => {
    const refused = async (wire: string | Uint8Array, status: number, message?: RegExp) => {
      const c = await RawClient.connect(port);
      try {
        await c.write(wire).catch(() => {});
        const r = await c.response();
        assert.equal(r.status, status, r.text());
        if (message) assert.match(r.text(), message);
        assert.equal(r.headers.connection, "close");
        assert.ok(await c.closedWithin(3000), "closed");
      } finally {
        c.close();
      }
    };
    await t.step("Content-Length with Transfer-Encoding (smuggling)", async () => {
      await refused(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        400,
        /both/,
      );
    });
    await t.step("conflicting Content-Length", async () => {
      await refused(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        400,
        /conflict/,
      );
    });
    await t.step("a bad chunk size or an overflowing one", async () => {
      const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
      await refused(`${head}zz\r\nab\r\n0\r\n\r\n`, 400, /hexadecimal/);
      await refused(`${head}ffffffffffffffffff\r\n`, 400, /exceeds/);
      await refused(`${head}2\r\nabc\r\n0\r\n\r\n`, 400, /CRLF/);
    });
    await t.step("a head over 64 KiB, and too many fields", async () => {
      await refused(`GET / HTTP/1.1\r\nHost: x\r\nX: ${"a".repeat(70_000)}\r\n\r\n`, 431);
      const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: 1\r\n`).join("");
      await refused(`GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`, 431);
    });
    await t.step("malformed lines, missing Host, unknown versions and methods", async () => {
      await refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
      await refused("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, /folded/);
      await refused("GET / HTTP/1.1\nHost: x\n\n", 400, /bare LF/);
      await refused("GET / HTTP/1.1\r\n\r\n", 400, /Host/);
      await refused("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505);
      await refused("GET nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 400, /target/);
      await refused("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501);
      await refused("PUT / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417);
      await refused("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    });
    await t.step("none of them reached the handler", () => {
      // The bad chunked bodies did: their handler saw the body fail.
      assert.equal(handled, 3);
    });
    await t.step("OPTIONS * is answered by the listener", async () => {
      const c = await RawClient.connect(port);
      try {
        await c.write("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal((await c.response()).status, 200);
      } finally {
        c.close();
      }
    });
    await t.step("an absolute-form target is served", async () => {
      const c = await RawClient.connect(port);
      try {
        await c.write("GET http://example.test/abs?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.equal(json((await c.response()).text()).path, "/abs?x=1");
      } finally {
        c.close();
      }
    });
  });
});
