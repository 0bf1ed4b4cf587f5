/**
 * The S3 blob driver against a real S3-compatible server (s3rver on 127.0.0.1): the
 * shared blob driver suite, then what only S3 has: chunks of any size staged into
 * 5 MiB parts, publish in place without copies, bounded memory, retries through
 * misbehaving proxies, DriverUnavailableError when S3 stays away, presigned URLs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { S3BlobDriver, type S3DriverOptions } from "../../drivers/blob/s3.ts";
import { DriverUnavailableError, type UploadRef } from "../../drivers/blob/types.ts";
import { startDroppingProxy, startFailingProxy } from "../helpers/flaky_proxy.ts";
import { type S3rver, startS3rver } from "../helpers/s3rver.ts";
import { blobDriverSuite } from "./blob_driver_suite.ts";

const MiB = 1024 * 1024;

// One s3rver for the whole file; pages of 2 parts (ListParts) and 3 keys (ListObjectsV2)
// exercise paging. Each driver gets its own root directory, so tests never see each
// other's objects.
let server: Promise<S3rver> | null = null;
function s3rver(): Promise<S3rver> {
  server ??= startS3rver({ maxParts: 2, maxKeys: 3 });
  return server;
}
globalThis.addEventListener("unload", () => void server?.then((s) => s.stop()));

async function driver(extra: Partial<S3DriverOptions> = {}): Promise<S3BlobDriver> {
  const { options } = await s3rver();
  return new S3BlobDriver({
    ...options,
    rootdirectory: `/t-${crypto.randomUUID()}`,
    retrydelayms: 5,
    ...extra,
  });
}

blobDriverSuite("s3", () => driver());

/** Deterministic pseudo-random bytes. */
function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `data` as a stream of `piece`-sized chunks. */
function stream(data: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + piece));
      at += piece;
    },
  });
}

/** A `size`-byte stream made while it is read (never held whole), and its SHA-256. */
function generated(size: number): { body: ReadableStream<Uint8Array>; digest: Promise<string> } {
  const block = bytes(256 * 1024, 7);
  const hash = createHash("sha256");
  let at = 0;
  let done: (hex: string) => void;
  const digest = new Promise<string>((resolve) => done = resolve);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= size) {
        controller.close();
        return done(hash.digest("hex"));
      }
      const chunk = block.slice(0, Math.min(block.length, size - at));
      if (chunk.length >= 4) new DataView(chunk.buffer).setUint32(0, at / block.length);
      hash.update(chunk);
      at += chunk.length;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return { body, digest };
}

async function sha256(body: ReadableStream<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of body) hash.update(chunk);
  return hash.digest("hex");
}

async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  assert.ok(body, "expected a stream");
  return new Uint8Array(await new Response(body).arrayBuffer());
}

async function keysUnder(d: S3BlobDriver, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of d.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

/** Appends `chunks` one request each; returns the final ref and the concatenated bytes. */
async function appendAll(d: S3BlobDriver, ref: UploadRef, chunks: Uint8Array[]) {
  let offset = 0;
  for (const chunk of chunks) {
    const result = await d.uploads.append(ref, offset, stream(chunk));
    assert.equal(result.written, chunk.length);
    assert.ok(JSON.stringify(result.ref).length < 400, "the ref stays a few hundred bytes");
    ref = result.ref;
    offset += result.written;
  }
  return { ref, all: concat(...chunks) };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

Deno.test("S3 uploads stage chunks of any size into parts", async (t) => {
  const d = await driver();

  await t.step("1 B, 100 KiB, 5 MiB-1, 5 MiB+1 and 12 MiB read back byte-exact", async () => {
    const sizes = [1, 100 * 1024, 5 * MiB - 1, 5 * MiB + 1, 12 * MiB];
    const id = crypto.randomUUID();
    const { ref, all } = await appendAll(
      d,
      await d.uploads.create(id),
      sizes.map((n, i) => bytes(n, i + 1)),
    );
    assert.equal((ref as { parts: number }).parts, 4); // 22.1 MiB: four 5 MiB parts + tail
    const key = await d.uploads.publish(ref, all.length, "blobs/sha256/ab/ab");
    assert.equal((await d.stat(key))?.size, all.length);
    assert.deepEqual(await readAll(await d.read(key)), all);
    const across = { start: 5 * MiB - 10, end: 10 * MiB + 9 }; // spans three parts
    assert.deepEqual(
      await readAll(await d.read(key, across)),
      all.subarray(across.start, across.end + 1),
    );
    assert.deepEqual(await keysUnder(d, `uploads/${id}/`), [], "staged tails are deleted");
  });

  await t.step("a failed append leaves the upload usable from its offset", async () => {
    const first = bytes(3 * MiB, 11);
    const { ref } = await appendAll(d, await d.uploads.create(crypto.randomUUID()), [first]);
    const broken = new Error("client went away");
    let sent = 0;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8 * MiB) return controller.error(broken); // after one part went to S3
        sent += MiB;
        controller.enqueue(bytes(MiB, 99));
      },
    });
    await assert.rejects(d.uploads.append(ref, first.length, failing), (err) => err === broken);
    const rest = bytes(4 * MiB, 12);
    const second = await d.uploads.append(ref, first.length, stream(rest));
    const key = await d.uploads.publish(second.ref, first.length + rest.length, "unused");
    assert.deepEqual(await readAll(await d.read(key)), concat(first, rest));
  });

  await t.step("a re-append from an older ref overwrites the later parts", async () => {
    const a = bytes(6 * MiB, 21);
    const { ref: older } = await appendAll(d, await d.uploads.create(crypto.randomUUID()), [a]);
    await d.uploads.append(older, a.length, stream(bytes(7 * MiB, 22)));
    const b = bytes(6 * MiB + 5, 23);
    const redo = await d.uploads.append(older, a.length, stream(b));
    const key = await d.uploads.publish(redo.ref, a.length + b.length, "unused");
    assert.deepEqual(await readAll(await d.read(key)), concat(a, b));
  });

  await t.step("publish takes a prefix that ends in the tail or on a part boundary", async () => {
    const data = bytes(12 * MiB, 25); // two parts and a 2 MiB tail
    for (const size of [11 * MiB, 5 * MiB]) {
      const { ref } = await appendAll(d, await d.uploads.create(crypto.randomUUID()), [data]);
      const key = await d.uploads.publish(ref, size, "unused");
      assert.deepEqual(await readAll(await d.read(key)), data.subarray(0, size));
    }
    const { ref } = await appendAll(d, await d.uploads.create(crypto.randomUUID()), [data]);
    await assert.rejects(d.uploads.publish(ref, 7 * MiB, "unused"), /cannot be published/);
    await d.uploads.abort(ref);
  });

  await t.step("an empty upload publishes an empty object", async () => {
    const ref = await d.uploads.create(crypto.randomUUID());
    const key = await d.uploads.publish(ref, 0, "unused");
    assert.equal((await d.stat(key))?.size, 0);
    assert.deepEqual(await readAll(await d.read(key)), new Uint8Array());
  });

  await t.step("abort discards the upload and its tails, and is idempotent", async () => {
    const id = crypto.randomUUID();
    const { ref } = await appendAll(d, await d.uploads.create(id), [bytes(6 * MiB, 31)]);
    assert.equal((await keysUnder(d, `uploads/${id}/`)).length, 1);
    await d.uploads.abort(ref);
    await d.uploads.abort(ref);
    assert.deepEqual(await keysUnder(d, `uploads/${id}/`), []);
    await assert.rejects(d.uploads.publish(ref, 6 * MiB, "unused"), /no longer exists/);
  });

  await t.step("publishing twice is harmless", async () => {
    const { ref, all } = await appendAll(d, await d.uploads.create(crypto.randomUUID()), [
      bytes(5 * MiB + 3, 41),
    ]);
    const key = await d.uploads.publish(ref, all.length, "unused");
    assert.equal(await d.uploads.publish(ref, all.length, "unused"), key);
    assert.deepEqual(await readAll(await d.read(key)), all);
  });
});

Deno.test("S3 publish returns the multipart key and never copies", async () => {
  const requests: { method: string; url: string; headers: Headers }[] = [];
  const recording: typeof fetch = (input, init) => {
    requests.push({
      method: init?.method ?? "GET",
      url: String(input),
      headers: new Headers(init?.headers),
    });
    return fetch(input, init);
  };
  const d = await driver({ fetch: recording });
  const id = crypto.randomUUID();
  const { ref, all } = await appendAll(d, await d.uploads.create(id), [
    bytes(2 * MiB, 51),
    bytes(9 * MiB, 52),
  ]);
  const canonical = "blobs/sha256/12/1234";
  const key = await d.uploads.publish(ref, all.length, canonical);
  assert.equal(key, `blobs/_uploaded/${id}`);
  assert.equal(await d.stat(canonical), null);
  assert.equal((await d.stat(key))?.size, all.length);
  assert.ok(requests.length > 0);
  for (const request of requests) {
    assert.equal(request.headers.has("x-amz-copy-source"), false, request.url);
    assert.match(request.headers.get("authorization") ?? "", /^AWS4-HMAC-SHA256 Credential=/);
  }
  const completes = requests.filter((r) => r.method === "POST" && r.url.includes("uploadId="));
  assert.equal(completes.length, 1);
});

Deno.test("S3 write uses one PUT for small bodies and a multipart upload for large ones", async () => {
  const d = await driver();
  const small = bytes(300 * 1024, 61);
  assert.deepEqual(await d.write("small", stream(small)), { size: small.length });
  assert.deepEqual(await readAll(await d.read("small")), small);
  const large = bytes(11 * MiB + 1, 62);
  assert.deepEqual(await d.write("large", stream(large, 1000 * 1000)), { size: large.length });
  assert.deepEqual(await readAll(await d.read("large", { start: MiB })), large.subarray(MiB));
});

Deno.test("S3 list follows continuation tokens across pages", async () => {
  let pages = 0;
  const counting: typeof fetch = (input, init) => {
    if (String(input).includes("list-type=2")) pages++;
    return fetch(input, init);
  };
  const d = await driver({ fetch: counting });
  const names = Array.from({ length: 8 }, (_, i) => `list/k${i}`);
  for (const name of [...names, "listing", "other/k"]) await d.write(name, stream(bytes(3)));
  assert.deepEqual(await keysUnder(d, "list/"), names);
  assert.equal(pages, 3, "8 keys in pages of at most 3");
});

Deno.test("S3 memory stays bounded while a 200 MiB stream is appended", async () => {
  const d = await driver();
  const size = 200 * MiB;
  const { body, digest } = generated(size);
  // This isolate's own memory (heap plus buffers), not the process RSS: `deno test
  // --parallel` runs other test files in the same process, and their memory is not ours.
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const baseline = used();
  let peak = baseline;
  const sampler = setInterval(() => peak = Math.max(peak, used()), 20);
  try {
    const ref = await d.uploads.create(crypto.randomUUID());
    const { ref: done, written } = await d.uploads.append(ref, 0, body);
    assert.equal(written, size);
    peak = Math.max(peak, used());
    const key = await d.uploads.publish(done, size, "unused");
    assert.equal(await sha256((await d.read(key))!), await digest);
  } finally {
    clearInterval(sampler);
  }
  const growth = (peak - baseline) / MiB;
  // Buffering the blob would add 200 MiB; one part plus uncollected garbage stays far below.
  assert.ok(growth < 100, `memory grew by ${growth.toFixed(1)} MiB for a 200 MiB append`);
});

Deno.test("S3 requests are retried through transient failures", async (t) => {
  const s3 = await s3rver();

  await t.step("503 SlowDown on the first requests", async () => {
    const proxy = startFailingProxy(s3.endpoint, 3);
    try {
      const d = await driver({ regionendpoint: proxy.endpoint });
      const data = bytes(6 * MiB, 71);
      assert.deepEqual(await d.write("retried", stream(data)), { size: data.length });
      assert.deepEqual(await readAll(await d.read("retried")), data);
      assert.ok(proxy.seen > 3);
    } finally {
      await proxy.close();
    }
  });

  await t.step("connections dropped mid-request", async () => {
    const proxy = startDroppingProxy(Number(new URL(s3.endpoint).port), 2);
    try {
      const d = await driver({ regionendpoint: proxy.endpoint });
      const ref = await d.uploads.create(crypto.randomUUID());
      const data = bytes(MiB, 72);
      const { ref: after } = await d.uploads.append(ref, 0, stream(data));
      const key = await d.uploads.publish(after, data.length, "unused");
      assert.deepEqual(await readAll(await d.read(key)), data);
      assert.ok(proxy.seen > 2);
    } finally {
      await proxy.close();
    }
  });
});

Deno.test("S3 failures that persist become DriverUnavailableError", async (t) => {
  await t.step("an endpoint that always answers 503", async () => {
    const proxy = startFailingProxy((await s3rver()).endpoint, Infinity);
    try {
      const d = await driver({ regionendpoint: proxy.endpoint, retries: 3 });
      await assert.rejects(d.stat("x"), DriverUnavailableError);
      await assert.rejects(d.write("x", stream(bytes(10))), /HTTP 503 SlowDown/);
      await assert.rejects(d.health(), DriverUnavailableError);
      assert.equal(proxy.seen, 9, "three attempts per request");
    } finally {
      await proxy.close();
    }
  });

  await t.step("an endpoint nobody listens on", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const d = await driver({ regionendpoint: `http://127.0.0.1:${port}`, retries: 2 });
    await assert.rejects(d.read("x"), DriverUnavailableError);
    await assert.rejects(d.uploads.create(crypto.randomUUID()), DriverUnavailableError);
  });
});

Deno.test("S3 presigned URLs serve the object to a plain GET", async () => {
  const d = await driver();
  const data = bytes(70_000, 81);
  await d.write("signed/object", stream(data));
  const url = await d.signedUrl("signed/object", 60);
  assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.deepEqual(new Uint8Array(await response.arrayBuffer()), data);
});

Deno.test("S3 addresses AWS buckets virtual-hosted and the root directory in keys", async () => {
  const aws = new S3BlobDriver({
    region: "eu-west-1",
    bucket: "my-bucket",
    accesskey: "AKIDEXAMPLE",
    secretkey: "secret",
    rootdirectory: "/registry/",
    chunksize: 1024,
    forcepathstyle: false,
    secure: true,
  });
  const url = new URL(await aws.signedUrl("blobs/sha256/ab/abcd", 300));
  assert.equal(url.origin, "https://my-bucket.s3.eu-west-1.amazonaws.com");
  assert.equal(url.pathname, "/registry/blobs/sha256/ab/abcd");
  assert.equal(url.searchParams.get("X-Amz-Expires"), "300");
  assert.equal(aws.uploads.minChunkLength, 5 * MiB, "chunksize is raised to S3's minimum part");
  const pathStyle = new S3BlobDriver({
    region: "eu-west-1",
    bucket: "my-bucket",
    accesskey: "AKIDEXAMPLE",
    secretkey: "secret",
    forcepathstyle: true,
  });
  const other = new URL(await pathStyle.signedUrl("k", 60));
  assert.equal(other.origin + other.pathname, "https://s3.eu-west-1.amazonaws.com/my-bucket/k");
});

Deno.test("stop s3rver", async () => {
  await (await server)?.stop();
  server = null;
});
