/**
 * Berth's HTTP/1.1 listener over raw sockets: timeouts (slowloris), clients hanging up,
 * backpressure, graceful shutdown and HTTPS.
 */
import assert from "node:assert/strict";
import { listen } from "../../src/http/server/listener.ts";
import { echo, withServer } from "../helpers/listener.ts";
import { chunked, RawClient } from "../helpers/raw_http.ts";

Deno.test("listener: idle and slow heads are timed out (slowloris)", async (t) => {
  await withServer(echo, async (port) => {
    await t.step("an idle connection closes after the idle timeout", async () => {
      const c = await RawClient.connect(port);
      try {
        const started = Date.now();
        assert.ok(await c.closedWithin(5000));
        assert.ok(Date.now() - started >= 250, "not before the timeout");
      } finally {
        c.close();
      }
    });
    await t.step("a head trickling in closes at the head timeout, bytes or not", async () => {
      const c = await RawClient.connect(port);
      let stop = false;
      const trickle = (async () => {
        for (const ch of "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(1000)) {
          if (stop) return;
          await c.write(ch).catch(() => stop = true);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        assert.ok(await c.closedWithin(5000), "closed while the head was still arriving");
      } finally {
        stop = true;
        await trickle;
        c.close();
      }
    });
  }, { idleTimeoutMs: 300, headTimeoutMs: 600 });
});

Deno.test("listener: a client that hangs up aborts its request", async (t) => {
  await t.step("the signal aborts while the handler works (no body)", async () => {
    let aborted: () => void;
    const sawAbort = new Promise<void>((r) => aborted = r);
    await withServer(async (request) => {
      await new Promise<void>((r) => request.signal.addEventListener("abort", () => r()));
      aborted();
      return new Response("late");
    }, async (port) => {
      const c = await RawClient.connect(port);
      await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      await sawAbort;
    });
  });
  await t.step("the body stream errors when the client goes mid-body", async () => {
    let failure: (e: unknown) => void;
    const failed = new Promise<unknown>((r) => failure = r);
    await withServer(async (request) => {
      try {
        for await (const _ of request.body!) { /* read on */ }
      } catch (err) {
        failure(err);
      }
      return new Response("x");
    }, async (port) => {
      const c = await RawClient.connect(port);
      await c.write(
        "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + "a".repeat(5000),
      );
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      const err = await failed as Error;
      assert.equal(err.name, "Http");
      assert.match(err.message, /closed before the request body ended/);
    });
  });
  for (const length of ["1000000", null]) {
    const framing = length ? "Content-Length" : "chunked";
    await t.step(
      `a response body waiting on a stalled source is cancelled (${framing})`,
      async () => {
        // A source that sends a first chunk and then nothing (a mirror's copy that stopped):
        // without the hang-up reaching it, the response would hold the connection, and a
        // shutdown would wait for it, forever.
        let cancelled: (reason: unknown) => void;
        const sawCancel = new Promise<unknown>((r) => cancelled = r);
        await withServer(() => {
          const body = new ReadableStream<Uint8Array>({
            start: (c) => c.enqueue(new Uint8Array(100_000)),
            pull: () => new Promise(() => {}),
            cancel: (reason) => cancelled(reason),
          });
          return new Response(body, { headers: length ? { "content-length": length } : {} });
        }, async (port) => {
          const c = await RawClient.connect(port);
          await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
          await new Promise((r) => setTimeout(r, 100));
          c.close();
          const reason = await sawCancel as Error;
          assert.match(String(reason), /hung up|closed/i);
        });
      },
    );
  }
});

Deno.test("listener: a body is read only as fast as its consumer (backpressure)", async (t) => {
  /** Sends `total` bytes in 32 KiB chunks; samples how far the sender is ahead. */
  const send = async (port: number, total: number, consumed: () => number) => {
    const c = await RawClient.connect(port);
    try {
      await c.write(`PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const frame = chunked(new Uint8Array(32 * 1024), 32 * 1024).subarray(0, -5);
      let sent = 0;
      let ahead = 0;
      const sampler = setInterval(() => ahead = Math.max(ahead, sent - consumed()), 20);
      try {
        while (sent < total) {
          await c.write(frame);
          sent += 32 * 1024;
        }
        await c.write("0\r\n\r\n");
        return { ahead, answer: (await c.response()).text() };
      } finally {
        clearInterval(sampler);
      }
    } finally {
      c.close();
    }
  };
  await t.step("a handler that pauses: only socket buffers fill", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let received = 0;
    await withServer(async (request) => {
      const reader = request.body!.getReader();
      received += (await reader.read()).value?.length ?? 0;
      await held; // a stalled backend
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        received += value.length;
      }
      return new Response(String(received));
    }, async (port) => {
      setTimeout(release, 1000);
      const { ahead, answer } = await send(port, 64 * 1024 * 1024, () => received);
      assert.equal(answer, String(64 * 1024 * 1024));
      assert.ok(ahead < 16 * 1024 * 1024, `the client got ${ahead >> 20} MiB ahead`);
    });
  });
  await t.step("a consumer slower than the client: nothing piles up", async () => {
    // Deno.serve (2.9) gets tens of MiB ahead here and slows down quadratically.
    let received = 0;
    await withServer(async (request) => {
      for await (const chunk of request.body!) {
        received += chunk.length;
        await new Promise((r) => setTimeout(r, 2));
      }
      return new Response(String(received));
    }, async (port) => {
      const { ahead, answer } = await send(port, 64 * 1024 * 1024, () => received);
      assert.equal(answer, String(64 * 1024 * 1024));
      assert.ok(ahead < 16 * 1024 * 1024, `the client got ${ahead >> 20} MiB ahead`);
    });
  });
});

Deno.test("listener: graceful shutdown lets requests in flight finish", async () => {
  let started!: () => void;
  const inFlight = new Promise<void>((r) => started = r);
  const server = listen(async () => {
    started();
    await new Promise((r) => setTimeout(r, 300));
    return new Response("finished", { headers: { "content-length": "8" } });
  }, { hostname: "127.0.0.1", port: 0 });
  const port = server.addr.port;
  const idle = await RawClient.connect(port);
  const busy = await RawClient.connect(port);
  try {
    await busy.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await inFlight;
    const stopping = server.shutdown();
    assert.ok(await idle.closedWithin(1000), "the idle connection closes at once");
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "no longer accepting");
    const r = await busy.response();
    assert.equal(r.text(), "finished");
    assert.equal(r.headers.connection, "close");
    await stopping;
    await server.finished;
  } finally {
    idle.close();
    busy.close();
  }
});

Deno.test("listener: HTTPS with Deno.listenTls", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A CA and a leaf signed by it (rustls refuses a CA certificate as the server's own).
    const openssl = async (...args: string[]) => {
      const out = await new Deno.Command("openssl", {
        args,
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(
      "req",
      "-x509",
      ...ec,
      "-subj",
      "/CN=test ca",
      "-days",
      "1",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    await openssl("req", ...ec, "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr");
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
      "-out",
      "cert.pem",
    );
    const ca = await Deno.readTextFile(`${dir}/ca.pem`);
    const cert = await Deno.readTextFile(`${dir}/cert.pem`);
    const key = await Deno.readTextFile(`${dir}/key.pem`);
    const client = Deno.createHttpClient({ caCerts: [ca] });
    try {
      await withServer(echo, async (port) => {
        const res = await fetch(`https://127.0.0.1:${port}/tls`, {
          method: "POST",
          body: "secret",
          client,
        });
        const r = await res.json();
        assert.deepEqual([r.path, r.length], ["/tls", 6]);
      }, { tls: { cert, key } });
    } finally {
      client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
