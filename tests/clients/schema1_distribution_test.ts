/**
 * @module
 * Schema 1 against CNCF distribution 2.8.2, whose libtrust verifies every signature of a
 * schema 1 push: a manifest Berth converted and signed is accepted by distribution under
 * the same digest (a forged one is not, so the check is real), and distribution's own
 * conversion is accepted by Berth and served back byte for byte.
 */
import assert from "node:assert/strict";
import { assertError, randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry } from "../helpers/registry.ts";
import { SIGNED, verifyServed } from "../helpers/schema1.ts";

const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";

/** A distribution 2.8.2 (`docker-registry serve`) with schema 1 enabled, on a free port. */
async function startDistribution(): Promise<{ url: string; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "berth-distribution-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await Deno.writeTextFile(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${dir}/data } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      "compatibility: { schema1: { enabled: true } }",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch (err) {
      if (i > 100) throw new Error(`distribution did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Uploads `bytes` to distribution (POST, then PUT with the digest). */
async function upload(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  assert.equal(start.status, 202);
  const location = new URL(start.headers.get("location")!, base);
  location.searchParams.set("digest", digest);
  const done = await fetch(location, { method: "PUT", body: bytes as BodyInit });
  await done.body?.cancel();
  assert.equal(done.status, 201);
  return digest;
}

/** A Docker schema 2 image pushed to both registries under `repo:v1`. */
async function pushBoth(urls: string[], repo: string) {
  const layers = [randomBytes(800), randomBytes(1200)];
  const config = new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [sha256("a"), sha256("b")] },
    history: [{ created_by: "ADD a" }, { created_by: "ADD b" }],
  }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: DOCKER,
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      digest: sha256(config),
      size: config.byteLength,
    },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
      digest: sha256(l),
      size: l.byteLength,
    })),
  });
  for (const url of urls) {
    for (const blob of [config, ...layers]) await upload(url, repo, blob);
    const res = await fetch(`${url}/v2/${repo}/manifests/v1`, {
      method: "PUT",
      body: manifest,
      headers: { "Content-Type": DOCKER },
    });
    assert.equal(res.status, 201, await res.text());
  }
  return layers;
}

Deno.test("schema 1 and distribution 2.8.2: each verifies the other's signatures", async () => {
  const distribution = await startDistribution();
  const berth = await startRegistry({
    doc: { compatibility: { schema1: { enabled: true, convert: true } } },
  });
  const repo = "cross/app";
  try {
    await pushBoth([berth.url, distribution.url], repo);
    const accept = { headers: { Accept: SIGNED } };

    // Berth's conversion, signed by Berth, is verified and accepted by libtrust.
    const ours = await fetch(`${berth.url}/v2/${repo}/manifests/v1`, accept);
    const ourBytes = await ours.bytes();
    const ourDigest = ours.headers.get("docker-content-digest")!;
    const put = (url: string, tag: string, body: BodyInit) =>
      fetch(`${url}/v2/${repo}/manifests/${tag}`, {
        method: "PUT",
        body,
        headers: { "Content-Type": SIGNED },
      });
    const accepted = await put(distribution.url, "v1", ourBytes as BodyInit);
    assert.equal(accepted.status, 201, await accepted.text());
    assert.equal(accepted.headers.get("docker-content-digest"), ourDigest);
    // A forged copy is refused by distribution: its verification is real.
    const doc = JSON.parse(new TextDecoder().decode(ourBytes));
    const sig: string = doc.signatures[0].signature;
    doc.signatures[0].signature = sig.slice(0, 3) + (sig[3] === "A" ? "B" : "A") + sig.slice(4);
    await assertError(
      await put(distribution.url, "v1", JSON.stringify(doc, null, 3)),
      400,
      "MANIFEST_UNVERIFIED",
    );

    // distribution's conversion, signed by libtrust, is verified and kept by Berth.
    const theirs = await fetch(`${distribution.url}/v2/${repo}/manifests/v1`, accept);
    const theirBytes = await theirs.bytes();
    const theirDigest = theirs.headers.get("docker-content-digest")!;
    assert.equal(theirs.headers.get("content-type"), SIGNED);
    await assertError(await put(berth.url, "theirs", theirBytes as BodyInit), 400, "TAG_INVALID");
    const byDigest = await put(berth.url, theirDigest, theirBytes as BodyInit);
    assert.equal(byDigest.status, 201, await byDigest.text());
    assert.equal(byDigest.headers.get("docker-content-digest"), theirDigest);
    const back = await fetch(`${berth.url}/v2/${repo}/manifests/${theirDigest}`, accept);
    assert.deepEqual(await back.bytes(), theirBytes);
    assert.equal((await verifyServed(theirBytes)).digest, theirDigest);
  } finally {
    await berth.close();
    await distribution.close();
  }
});
