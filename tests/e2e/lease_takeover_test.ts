/**
 * @module
 * A writer that died holds its upload only as long as its heartbeat says it may still be
 * alive, not for the whole lease: after a kill -9 mid-PATCH, a restarted instance takes
 * the session over at once when it has the same instance id (a new boot of it), and
 * within the heartbeat's few seconds when it has another one. Meanwhile the client is
 * told 416 with `Retry-After` and the exact `Upload-Offset`.
 */
import assert from "node:assert/strict";
import { type BerthProcess, spawnBerth } from "../helpers/process.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";

const MiB = 1 << 20;
const REPO = "lease/app";

/** A body that sends `first` and then stalls, resolving `sent` once it is out. */
function stallingAfter(first: Uint8Array) {
  let done!: () => void;
  const sent = new Promise<void>((r) => done = r);
  let once = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!once) {
        once = true;
        c.enqueue(first);
        return;
      }
      setTimeout(done, 300);
      await new Promise(() => {}); // never ends: the server dies first
    },
  });
  return { body, sent };
}

/** Starts an upload, acknowledges 1 MiB, and kills the server in the middle of a second PATCH. */
async function killMidPatch(berth: BerthProcess, data: Uint8Array) {
  const post = await fetch(`${berth.url}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
  await post.body?.cancel();
  const first = await fetch(berth.url + post.headers.get("location"), {
    method: "PATCH",
    body: data.subarray(0, MiB) as BodyInit,
    headers: { "Content-Range": `0-${MiB - 1}` },
  });
  assert.equal(first.status, 202);
  const location = first.headers.get("location")!;
  const { body, sent } = stallingAfter(data.subarray(MiB, 2 * MiB));
  const cut = fetch(berth.url + location, { method: "PATCH", body }).catch(() => null);
  await sent;
  await berth.kill("SIGKILL");
  await cut;
  return location;
}

/** Resumes `location` at 1 MiB; returns the PATCH's answer and how many 416s came first. */
async function resume(url: string, location: string, data: Uint8Array) {
  const status = await fetch(url + location);
  await status.body?.cancel();
  assert.equal(status.status, 204);
  assert.equal(status.headers.get("upload-offset"), String(MiB), "the acknowledged MiB is kept");
  let busy = 0;
  for (;;) {
    const res = await fetch(url + status.headers.get("location"), {
      method: "PATCH",
      body: data.subarray(MiB) as BodyInit,
      headers: { "Content-Range": `${MiB}-${data.byteLength - 1}` },
    });
    if (res.status !== 416 || busy > 100) return { res, busy };
    assert.equal(res.headers.get("retry-after"), "1", "a busy session says when to retry");
    assert.equal(res.headers.get("upload-offset"), String(MiB));
    await res.body?.cancel();
    busy++;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function finish(url: string, res: Response, data: Uint8Array): Promise<void> {
  assert.equal(res.status, 202, await res.clone().text());
  await res.body?.cancel();
  const put = await fetch(`${url}${res.headers.get("location")}&digest=${sha256(data)}`, {
    method: "PUT",
  });
  assert.equal(put.status, 201, await put.text());
}

for (const sameId of [true, false]) {
  Deno.test(
    `a dead writer's lease ends with its heartbeat (${sameId ? "same" : "another"} instance id)`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "berth-lease-" });
      const env = (id: string) => ({
        REGISTRY_BERTH_DATADIR: dir,
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
        // Long enough that waiting for it would fail the test.
        REGISTRY_BERTH_UPLOADS_LEASE: "120s",
        REGISTRY_BERTH_INSTANCEID: id,
        REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
      });
      let berth = await spawnBerth(env("first"));
      try {
        const data = randomBytes(3 * MiB);
        const location = await killMidPatch(berth, data);
        const restarted = performance.now();
        berth = await spawnBerth(env(sameId ? "first" : "second"));
        const { res, busy } = await resume(berth.url, location, data);
        const waited = performance.now() - restarted;
        if (sameId) {
          assert.equal(busy, 0, "a new boot of the same instance waited for its old lease");
        } else {
          assert.ok(waited < 30_000, `waited ${waited} ms, as if for the 120 s lease`);
        }
        await finish(berth.url, res, data);
        const blob = await fetch(`${berth.url}/v2/${REPO}/blobs/${sha256(data)}`);
        assert.equal(sha256(await blob.bytes()), sha256(data));
      } finally {
        await berth.kill("SIGKILL");
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
