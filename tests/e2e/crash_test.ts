/**
 * @module
 * Process-level durability: the real server (`deno run main.ts`, filesystem blobs, a
 * Deno KV file) is killed with SIGKILL at chosen moments — mid-way through a streamed
 * PATCH, a monolithic POST, the commit PUT, a burst of manifest PUTs — and restarted on
 * the same data directory. After each crash nothing partial is visible, what was
 * acknowledged is intact, the upload resumes from the Range it reports, and every tag
 * resolves to a whole manifest.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type BerthProcess, spawnBerth } from "../helpers/process.ts";
import { pushBlob, pushImage, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";

const MiB = 1 << 20;
const REPO = "crash/app";

/**
 * A request body that sends `data` in 256 KiB pieces until `cutAt` bytes are out, then
 * stalls (the connection stays open) and resolves `reached` a moment later, once the
 * server has had time to write what it received: the kill lands mid-stream.
 */
function stalling(data: Uint8Array, cutAt: number) {
  let at = 0;
  let signal!: () => void;
  let unstall = () => {};
  const reached = new Promise<void>((r) => signal = r);
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (at >= cutAt) {
        setTimeout(signal, 300);
        await new Promise<void>((r) => unstall = r);
        return;
      }
      const end = Math.min(at + 256 * 1024, cutAt, data.byteLength);
      c.enqueue(data.slice(at, end));
      at = end;
    },
    cancel: () => unstall(),
  });
  return { body, reached };
}

/** Retries `send` while the dead writer's lease still holds the upload (416). */
async function whileLeased(send: () => Promise<Response>): Promise<Response> {
  for (let i = 0;; i++) {
    const res = await send();
    if (res.status !== 416 || i >= 40) return res;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Every tag of every repository resolves to a whole manifest whose blobs all exist. An
 * empty registry proves nothing, so at least `minTags` tags must have been checked.
 */
async function assertConsistent(url: string, minTags = 1): Promise<void> {
  const { repositories } = await (await fetch(`${url}/v2/_catalog`)).json();
  let tagsChecked = 0;
  let blobsChecked = 0;
  for (const repo of repositories) {
    const { tags } = await (await fetch(`${url}/v2/${repo}/tags/list`)).json();
    for (const tag of tags ?? []) {
      const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`);
      const text = await res.text();
      assert.equal(res.status, 200, `${repo}:${tag} dangles after a crash: ${text}`);
      assert.equal(res.headers.get("docker-content-digest"), sha256(text));
      const manifest = JSON.parse(text);
      for (const d of [manifest.config, ...manifest.layers]) {
        const blob = await fetch(`${url}/v2/${repo}/blobs/${d.digest}`, { method: "HEAD" });
        assert.equal(blob.status, 200, `${repo}:${tag} lost blob ${d.digest}`);
        blobsChecked++;
      }
      tagsChecked++;
    }
  }
  assert.ok(tagsChecked >= minTags, `only ${tagsChecked} tags were there to check`);
  assert.ok(blobsChecked >= tagsChecked, `only ${blobsChecked} blobs were checked`);
}

/**
 * Every file published under a digest's name on disk holds exactly that digest's bytes;
 * at least one such file must be there (an empty store proves nothing).
 */
async function assertNoTornFiles(dir: string): Promise<void> {
  let files = 0;
  const walk = async (path: string): Promise<void> => {
    for await (const e of Deno.readDir(path)) {
      if (e.isDirectory) await walk(`${path}/${e.name}`);
      else if (/^[0-9a-f]{64}$/.test(e.name)) {
        const hex = createHash("sha256").update(await Deno.readFile(`${path}/${e.name}`))
          .digest("hex");
        assert.equal(hex, e.name, `${path}/${e.name} is torn`);
        files++;
      }
    }
  };
  await walk(`${dir}/blobs/blobs/sha256`).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  assert.ok(files > 0, `no published blob file under ${dir} to check`);
}

/** Asserts `repo` serves blob `data` whole. */
async function assertBlob(url: string, data: Uint8Array, repo = REPO): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${sha256(data)}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), String(data.byteLength));
  assert.equal(sha256(await res.bytes()), sha256(data));
}

/** Asserts blob `data` is not visible in `repo`. */
async function assertNoBlob(url: string, data: Uint8Array): Promise<void> {
  const res = await fetch(`${url}/v2/${REPO}/blobs/${sha256(data)}`);
  const body = await res.json();
  assert.equal(res.status, 404, "a partial blob is visible");
  assert.equal(body.errors[0].code, "BLOB_UNKNOWN");
}

/**
 * Continues upload `location` with the bytes of `data` from its reported Range on and
 * closes it; returns the Range's end and the closing PUT's response.
 */
async function resume(url: string, location: string, data: Uint8Array, sent: number) {
  const status = await whileLeased(() => fetch(url + location));
  assert.equal(status.status, 204, await status.text());
  const range = /^0-(\d+)$/.exec(status.headers.get("range") ?? "");
  assert.ok(range, `no Range on the status: ${status.headers.get("range")}`);
  const offset = Number(range[1]) + 1;
  assert.ok(offset <= sent, `Range ${range[0]} is beyond the ${sent} bytes sent`);
  let next = status.headers.get("location")!;
  if (offset < data.byteLength) {
    const patch = await whileLeased(() =>
      fetch(url + next, {
        method: "PATCH",
        body: data.subarray(offset) as BodyInit,
        headers: { "Content-Range": `${offset}-${data.byteLength - 1}` },
      })
    );
    assert.equal(patch.status, 202, await patch.text());
    next = patch.headers.get("location")!;
  }
  const put = await whileLeased(() =>
    fetch(`${url}${next}&digest=${sha256(data)}`, { method: "PUT" })
  );
  return { offset, put };
}

/**
 * After a kill during the commit of upload `location`: the blob is whole, or the session
 * still finishes it, or the session is gone (404) and a new push does. Never a 5xx.
 */
async function finishAfterCrash(
  url: string,
  location: string,
  data: Uint8Array,
  serverErrors: () => string[],
) {
  const head = await fetch(`${url}/v2/${REPO}/blobs/${sha256(data)}`, { method: "HEAD" });
  assert.ok(head.status === 200 || head.status === 404, `HEAD blob: ${head.status}`);
  if (head.status === 404) {
    const status = await fetch(url + location);
    await status.body?.cancel();
    let closed = false;
    if (status.status === 204) {
      const { put } = await resume(url, location, data, data.byteLength);
      const text = await put.text();
      closed = put.status === 201;
      if (!closed) {
        assert.equal(
          put.status,
          404,
          `the session cannot be completed after the crash: ${text}\n${serverErrors().join("\n")}`,
        );
        assert.equal(JSON.parse(text).errors[0].code, "BLOB_UPLOAD_UNKNOWN");
      }
    }
    if (!closed) await pushBlob(url, REPO, data);
  }
  await assertBlob(url, data);
}

/** Opens an upload of REPO and sends all of `data` in one PATCH; returns the 202. */
async function sendWhole(base: string, data: Uint8Array): Promise<Response> {
  const post = await fetch(`${base}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
  const patch = await fetch(base + post.headers.get("location"), {
    method: "PATCH",
    body: data as BodyInit,
    headers: { "Content-Range": `0-${data.byteLength - 1}` },
  });
  assert.equal(patch.status, 202);
  return patch;
}

Deno.test("kill -9 at any moment leaves either nothing or the whole object", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "berth-crash-" });
  const env = {
    REGISTRY_BERTH_DATADIR: dir,
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/blobs`,
    // A crashed writer holds its upload until the lease runs out: keep that short here.
    REGISTRY_BERTH_UPLOADS_LEASE: "1s",
    REGISTRY_LOG_ACCESSLOG_DISABLED: "true",
  };
  let berth: BerthProcess | undefined;
  const url = () => berth!.url;
  /** SIGKILLs the server once `moment` resolves, lets `inFlight` fail, and restarts it. */
  const crash = async (moment: Promise<unknown>, inFlight: Promise<unknown>[] = []) => {
    const settled = Promise.allSettled(inFlight);
    await moment;
    await berth!.kill("SIGKILL");
    await settled;
    berth = await spawnBerth(env);
  };
  const errorLines = () => berth?.output.filter((l) => l.includes('"level":"error"')) ?? [];
  let before: Awaited<ReturnType<typeof pushImage>>;
  let during: Awaited<ReturnType<typeof pushImage>>;
  /** What was acknowledged before any crash is all still there. */
  const assertEarlierIntact = async () => {
    for (const [tag, image] of [["stable", before], ["during", during]] as const) {
      const res = await fetch(`${url()}/v2/${REPO}/manifests/${tag}`);
      assert.equal(res.status, 200, `tag ${tag} was lost`);
      assert.equal(await res.text(), image.text);
      for (const d of [image.manifest.config, ...image.manifest.layers]) {
        const blob = await fetch(`${url()}/v2/${REPO}/blobs/${d.digest}`);
        assert.equal(sha256(await blob.bytes()), d.digest);
      }
    }
  };

  try {
    berth = await spawnBerth(env);
    before = await pushImage(berth.url, REPO, 3);
    during = await pushImage(berth.url, REPO, 1);
    assert.equal((await putManifest(berth.url, REPO, "stable", before.text)).status, 201);

    await t.step("a chunked upload cut mid-PATCH resumes from its Range", async () => {
      const big = randomBytes(8 * MiB);
      const post = await fetch(`${url()}/v2/${REPO}/blobs/uploads/`, { method: "POST" });
      assert.equal(post.status, 202);
      const first = await fetch(url() + post.headers.get("location"), {
        method: "PATCH",
        body: big.subarray(0, 2 * MiB) as BodyInit,
        headers: { "Content-Range": `0-${2 * MiB - 1}` },
      });
      assert.equal(first.status, 202);
      const location = first.headers.get("location")!;
      // A streamed PATCH (no Content-Range, as docker sends) stalls after 3 more MiB...
      const { body, reached } = stalling(big.subarray(2 * MiB), 3 * MiB);
      const cut = fetch(url() + location, { method: "PATCH", body }).catch(() => null);
      // ...while a manifest push completes: acknowledged, so it must survive.
      assert.equal((await putManifest(url(), REPO, "during", during.text)).status, 201);
      await crash(reached, [cut]);

      await assertNoBlob(url(), big);
      await assertEarlierIntact();
      const { offset, put } = await resume(url(), location, big, 5 * MiB);
      assert.equal(put.status, 201, await put.text());
      assert.equal(put.headers.get("docker-content-digest"), sha256(big));
      assert.ok(offset >= 2 * MiB, `the acknowledged first chunk was lost (Range 0-${offset - 1})`);
      await assertBlob(url(), big);
      await assertConsistent(url());
    });

    await t.step("a monolithic POST cut mid-stream leaves no blob", async () => {
      const big = randomBytes(6 * MiB);
      const { body, reached } = stalling(big, 4 * MiB);
      const cut = fetch(`${url()}/v2/${REPO}/blobs/uploads/?digest=${sha256(big)}`, {
        method: "POST",
        body,
      }).catch(() => null);
      await crash(reached, [cut]);

      await assertNoBlob(url(), big);
      await assertEarlierIntact();
      await assertNoTornFiles(dir);
      // The same push again succeeds whole: leftovers of the cut one do not get in the way.
      await pushBlob(url(), REPO, big);
      await assertBlob(url(), big);
    });

    await t.step("a kill during the commit PUT gives nothing or the whole blob", async () => {
      for (const delay of [0, 2, 6]) {
        const big = randomBytes(4 * MiB);
        const patch = await sendWhole(url(), big);
        const location = patch.headers.get("location")!;
        const put = fetch(`${url()}${location}&digest=${sha256(big)}`, { method: "PUT" })
          .catch(() => null);
        await crash(new Promise((r) => setTimeout(r, delay)), [put]);

        await finishAfterCrash(url(), location, big, errorLines);
        await assertNoTornFiles(dir);
      }
      await assertEarlierIntact();
    });

    await t.step("a kill between publishing the bytes and recording them", async () => {
      // The filesystem driver publishes by renaming _uploads/<id>/data onto the blob's key,
      // then the metadata commit links it and ends the session. Whether a SIGKILL lands
      // between the two is luck, so this step makes that state by hand: all bytes sent,
      // the process killed, the rename done.
      const big = randomBytes(3 * MiB);
      const patch = await sendWhole(url(), big);
      const location = patch.headers.get("location")!;
      const id = patch.headers.get("docker-upload-uuid")!;
      await crash(
        berth!.kill("SIGKILL").then(async () => {
          const hex = sha256(big).slice(7);
          await Deno.mkdir(`${dir}/blobs/blobs/sha256/${hex.slice(0, 2)}`, { recursive: true });
          await Deno.rename(
            `${dir}/blobs/_uploads/${id}/data`,
            `${dir}/blobs/blobs/sha256/${hex.slice(0, 2)}/${hex}`,
          );
        }),
      );
      await finishAfterCrash(url(), location, big, errorLines);
      await assertNoTornFiles(dir);
      await assertConsistent(url());
    });

    await t.step("tags never point at missing manifests, whenever the kill lands", async () => {
      for (const delay of [10, 40, 120]) {
        // A repository per round: tags a round's kill left alone are not the next round's.
        const repo = `crash/tags-${delay}`;
        const images = await Promise.all(
          [0, 1, 2].map(() => pushImage(url(), repo, 1)),
        );
        // Each tag has one writer, so after the crash it holds the digest of its last
        // acknowledged PUT or of the one PUT the kill cut (which may also be missing).
        const acked = new Map<string, string>();
        const cut = new Map<string, string>();
        const victim = url();
        // Three writers push tags until the server dies (bounded in case it never does).
        const writer = async (w: number) => {
          for (let i = 0; i < 300; i++) {
            const image = images[(w + i) % images.length];
            const tag = `w${w}-${i % 20}`;
            const res = await putManifest(victim, repo, tag, image.text).catch(() => null);
            await res?.body?.cancel();
            if (res?.status !== 201) return void cut.set(tag, image.digest);
            acked.set(tag, image.digest);
          }
        };
        const writers = [0, 1, 2].map(writer);
        await crash(new Promise((r) => setTimeout(r, delay)), writers);

        await assertConsistent(url());
        if (delay >= 100) assert.ok(acked.size > 0, "no manifest PUT completed before the kill");
        const { tags } = await (await fetch(`${url()}/v2/${repo}/tags/list`)).json();
        for (const tag of tags) assert.ok(acked.has(tag) || cut.has(tag), `${tag} never pushed`);
        for (const tag of new Set([...acked.keys(), ...cut.keys()])) {
          const res = await fetch(`${url()}/v2/${repo}/manifests/${tag}`, {
            method: "HEAD",
          });
          if (res.status === 404) {
            assert.ok(!acked.has(tag), `acknowledged tag ${tag} was lost`);
            continue;
          }
          assert.equal(res.status, 200);
          const digest = res.headers.get("docker-content-digest");
          assert.ok(digest === acked.get(tag) || digest === cut.get(tag), `${tag} is ${digest}`);
        }
      }
      await assertEarlierIntact();
    });
  } finally {
    await berth?.kill("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});
