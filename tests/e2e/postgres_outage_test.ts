/**
 * @module
 * PostgreSQL going away in the middle of a push: the database is killed (an immediate
 * shutdown, as a crash) while a chunk streams in. That request, and every request that
 * needs metadata while the database is down, answers 503 `UNAVAILABLE` with
 * `Retry-After`, never a 500; once the database is back the same registry process
 * serves again without a restart, the upload continues from its last committed offset,
 * the push completes, and everything acknowledged before the outage is intact.
 */
import assert from "node:assert/strict";
import type { Logger } from "../../src/log.ts";
import {
  assertError,
  pushBlob,
  pushImage,
  putManifest,
  randomBytes,
  sha256,
} from "../helpers/oci.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { startRegistry } from "../helpers/registry.ts";

const MiB = 1 << 20;
const REPO = "outage/app";

/** A logger that keeps error lines (a 500 would log one). */
function errorsInto(lines: string[]): Logger {
  const none = () => {};
  return {
    debug: none,
    info: none,
    warn: none,
    error: (msg, fields) => lines.push(`${msg} ${JSON.stringify(fields)}`),
  };
}

/** A body that sends `head`, waits for `gate`, then sends `tail`. */
function gated(head: Uint8Array, tail: Uint8Array, gate: Promise<void>) {
  let sentHead!: () => void;
  const headSent = new Promise<void>((r) => sentHead = r);
  let step = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (step === 0) {
        c.enqueue(head);
        step = 1;
        setTimeout(sentHead, 300);
      } else if (step === 1) {
        await gate;
        c.enqueue(tail);
        step = 2;
      } else c.close();
    },
  });
  return { body, headSent };
}

/** Retries `send` (for at most 10 s) while the upload still answers 416. */
async function whileLeased(send: () => Promise<Response>): Promise<Response> {
  for (let i = 0;; i++) {
    const res = await send();
    if (res.status !== 416 || i >= 100) return res;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("PostgreSQL killed mid-push: 503 UNAVAILABLE, then the push completes and nothing is lost", async (t) => {
  const pg = await startPostgres();
  const errors: string[] = [];
  const reg = await startRegistry({
    storage: "disk",
    logger: errorsInto(errors),
    doc: {
      berth: {
        metadata: { driver: "postgres", url: await pg.database(), pool: 4 },
        // Longer than the test may wait: the writer whose lease the outage kept from being
        // given back is known to be gone, so the resume must not wait for the lease.
        uploads: { lease: "60s" },
      },
    },
  });
  const layer = randomBytes(3 * MiB + 1234);
  try {
    const first = await pushImage(reg.url, REPO, 2);
    assert.equal((await putManifest(reg.url, REPO, "v1", first.text)).status, 201);
    const config = await pushBlob(reg.url, REPO, JSON.stringify({ os: "linux", n: 2 }));

    const post = await fetch(`${reg.url}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
    assert.equal(post.status, 202);
    const chunk = await fetch(reg.url + post.headers.get("location"), {
      method: "PATCH",
      body: layer.subarray(0, MiB) as BodyInit,
      headers: { "Content-Range": `0-${MiB - 1}` },
    });
    assert.equal(chunk.status, 202);
    await chunk.body?.cancel();
    const location = chunk.headers.get("location")!;

    await t.step("the chunk in flight when the database dies answers 503", async () => {
      let killed!: () => void;
      const gate = new Promise<void>((r) => killed = r);
      const { body, headSent } = gated(
        layer.subarray(MiB, 2 * MiB),
        layer.subarray(2 * MiB, 3 * MiB),
        gate,
      );
      const patch = fetch(reg.url + location, { method: "PATCH", body });
      await headSent;
      await pg.kill();
      killed();
      const res = await patch;
      assert.equal(res.headers.get("retry-after") !== null, true, "no Retry-After");
      await assertError(res, 503, "UNAVAILABLE");
    });

    await t.step("while it is down, whatever needs metadata answers 503", async () => {
      const base = `${reg.url}/v2/${REPO}`;
      await assertError(await fetch(`${base}/manifests/v1`), 503, "UNAVAILABLE");
      await assertError(await putManifest(reg.url, REPO, "v2", first.text), 503, "UNAVAILABLE");
      await assertError(await fetch(`${base}/tags/list`), 503, "UNAVAILABLE");
      await assertError(await fetch(`${reg.url}/v2/_catalog`), 503, "UNAVAILABLE");
      await assertError(
        await fetch(`${base}/blobs/uploads/?digest=${sha256("x")}`, { method: "POST", body: "x" }),
        503,
        "UNAVAILABLE",
      );
      const head = await fetch(`${base}/blobs/${config.digest}`, { method: "HEAD" });
      assert.equal(head.status, 503);
      const health = await fetch(`${reg.url}/healthz`);
      assert.equal(health.status, 503, await health.text());
    });

    await pg.start();

    await t.step("once it is back the same process serves again", async () => {
      const health = await fetch(`${reg.url}/healthz`);
      assert.equal(health.status, 200, await health.text());
      const res = await fetch(`${reg.url}/v2/${REPO}/manifests/v1`);
      assert.equal(res.status, 200);
      assert.equal(sha256(await res.text()), first.digest);
    });

    await t.step("the upload continues from its last committed offset and completes", async () => {
      const status = await whileLeased(() => fetch(reg.url + location));
      assert.equal(status.status, 204, await status.text());
      // The chunk that failed was never acknowledged, so the session still ends at 1 MiB.
      assert.equal(status.headers.get("range"), `0-${MiB - 1}`);
      const rest = await whileLeased(() =>
        fetch(reg.url + status.headers.get("location"), {
          method: "PATCH",
          body: layer.subarray(MiB) as BodyInit,
          headers: { "Content-Range": `${MiB}-${layer.byteLength - 1}` },
        })
      );
      assert.equal(rest.status, 202, await rest.text());
      const put = await fetch(
        `${reg.url}${rest.headers.get("location")}&digest=${sha256(layer)}`,
        { method: "PUT" },
      );
      assert.equal(put.status, 201, await put.text());
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: sha256(layer),
          size: layer.byteLength,
        }],
      };
      assert.equal((await putManifest(reg.url, REPO, "v2", manifest)).status, 201);
    });

    await t.step("the registry is consistent: every tag whole, every blob intact", async () => {
      const tags = await (await fetch(`${reg.url}/v2/${REPO}/tags/list`)).json();
      assert.deepEqual(tags.tags, ["v1", "v2"]);
      for (const tag of tags.tags) {
        const res = await fetch(`${reg.url}/v2/${REPO}/manifests/${tag}`);
        const text = await res.text();
        assert.equal(res.status, 200, text);
        const doc = JSON.parse(text);
        for (const d of [doc.config, ...doc.layers]) {
          const blob = await fetch(`${reg.url}/v2/${REPO}/blobs/${d.digest}`);
          assert.equal(blob.status, 200, `${tag} lost ${d.digest}`);
          assert.equal(sha256(await blob.bytes()), d.digest);
        }
      }
      const catalog = await (await fetch(`${reg.url}/v2/_catalog`)).json();
      assert.deepEqual(catalog.repositories, [REPO]);
      assert.deepEqual(errors, [], "an outage must not end in a 500");
    });
  } finally {
    await reg.close();
    await pg.remove();
  }
});
