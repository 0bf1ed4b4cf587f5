/**
 * @module
 * A KV Connect server for tests (the protocol `Deno.openKv("http://...")` speaks, as a
 * self-hosted `denokv` or Deno Deploy's KV do), backed by a local Deno KV. It lets a
 * Berth process keep its metadata remotely while it has no filesystem permission at all.
 *
 * Supported: metadata exchange (protocol version 2), snapshot reads, atomic writes with
 * checks, set and delete mutations and expiry. Not supported: sum/min/max, enqueues,
 * watches (Berth uses none of them).
 */
import { allBytes, bytesOf, decode, numberOf, Writer } from "./protobuf.ts";

/** A running KV Connect server. */
export interface KvConnectServer {
  /** The URL to give `Deno.openKv` (with `DENO_KV_ACCESS_TOKEN` set to `token`). */
  url: string;
  token: string;
  /** Requests served by kind, to show the traffic went through here. */
  counts: { metadata: number; read: number; write: number };
  close(): Promise<void>;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)!.map((x) => parseInt(x, 16)));

interface Stored {
  data: Uint8Array;
  encoding: number;
}

/** Starts the server on 127.0.0.1, port 0, over an in-memory (or `path`) Deno KV. */
export async function startKvConnect(path?: string): Promise<KvConnectServer> {
  const inner = await Deno.openKv(path);
  const token = crypto.randomUUID();
  const databaseId = crypto.randomUUID();
  const counts = { metadata: 0, read: 0, write: 0 };

  async function read(body: Uint8Array): Promise<Uint8Array> {
    const out = new Writer();
    for (const range of allBytes(decode(body), 1)) {
      const r = decode(range);
      const start = bytesOf(r, 1), end = bytesOf(r, 2);
      const limit = numberOf(r, 3), reverse = numberOf(r, 4) === 1;
      const values = new Writer();
      const entries = inner.list<Stored>({ start: [start], end: [end] }, {
        limit: limit || undefined,
        reverse,
      });
      for await (const e of entries) {
        const entry = new Writer()
          .bytes(1, e.key[0] as Uint8Array)
          .bytes(2, e.value.data)
          .varint(3, e.value.encoding)
          .bytes(4, unhex(e.versionstamp));
        values.bytes(1, entry.finish());
      }
      out.bytes(1, values.finish());
    }
    return out.varint(4, 1).varint(8, 1).finish(); // strongly consistent, SR_SUCCESS
  }

  async function write(body: Uint8Array): Promise<Uint8Array> {
    const msg = decode(body);
    const op = inner.atomic();
    for (const check of allBytes(msg, 1)) {
      const c = decode(check);
      const stamp = bytesOf(c, 2);
      op.check({ key: [bytesOf(c, 1)], versionstamp: stamp.length ? hex(stamp) : null });
    }
    for (const mutation of allBytes(msg, 2)) {
      const m = decode(mutation);
      const key = [bytesOf(m, 1)];
      const type = numberOf(m, 3);
      if (type === 2) {
        op.delete(key);
      } else if (type === 1) {
        const v = decode(bytesOf(m, 2));
        const expireAt = numberOf(m, 4);
        const value: Stored = { data: bytesOf(v, 1).slice(), encoding: numberOf(v, 2) };
        op.set(key, value, expireAt ? { expireIn: Math.max(1, expireAt - Date.now()) } : undefined);
      } else {
        throw new Error(`Mutation type ${type} is not supported by this test server`);
      }
    }
    if (allBytes(msg, 3).length) throw new Error("Enqueues are not supported by this test server");
    const result = await op.commit();
    return result.ok
      ? new Writer().varint(1, 1).bytes(2, unhex(result.versionstamp)).finish()
      : new Writer().varint(1, 2).finish();
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return new Response("Bad token", { status: 401 });
    }
    try {
      if (url.pathname === "/") {
        counts.metadata++;
        return Response.json({
          version: 2,
          databaseId,
          endpoints: [{ url: "/v2", consistency: "strong" }],
          token,
          expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        });
      }
      const body = new Uint8Array(await req.arrayBuffer());
      const headers = { "content-type": "application/x-protobuf" };
      if (url.pathname === "/v2/snapshot_read") {
        counts.read++;
        return new Response(await read(body) as BodyInit, { headers });
      }
      if (url.pathname === "/v2/atomic_write") {
        counts.write++;
        return new Response(await write(body) as BodyInit, { headers });
      }
      return new Response("Not found", { status: 404 });
    } catch (err) {
      return new Response((err as Error).message, { status: 400 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    counts,
    close: async () => {
      await server.shutdown();
      inner.close();
    },
  };
}
