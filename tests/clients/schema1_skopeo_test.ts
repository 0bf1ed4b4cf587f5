/**
 * @module
 * Docker schema 1 with the real `skopeo` (containers/image writes and signs v2s1 with a
 * fresh key on every run): a multi-layer image copied in with `--format v2s1` and back
 * out with identical digests and bytes; refused clearly when schema 1 is off; two runs
 * leave two signatures that are both served and both verify, under one digest.
 */
import assert from "node:assert/strict";
import type { CapabilityFactory } from "../../src/capability.ts";
import {
  ManifestsDecorator,
  RegistryDecorator,
  RepositoryDecorator,
} from "../../src/registry/decorators.ts";
import type { ManifestService, Registry, RequestContext } from "../../src/registry/repository.ts";
import { Layout } from "../helpers/images.ts";
import { startRegistry } from "../helpers/registry.ts";
import { SIGNED, verifyServed } from "../helpers/schema1.ts";
import { skopeo } from "./skopeo.ts";

const ENABLED = { compatibility: { schema1: { enabled: true } } };

/** A capability recording the bytes of every manifest PUT, as the client sent them. */
function recorder(pushed: Uint8Array[]): CapabilityFactory {
  class Recording extends ManifestsDecorator {
    override put(...args: Parameters<ManifestService["put"]>) {
      pushed.push(args[1]);
      return super.put(...args);
    }
  }
  class RecordingRepository extends RepositoryDecorator {
    override get manifests(): ManifestService {
      return new Recording(this.inner.manifests);
    }
  }
  class RecordingRegistry extends RegistryDecorator {
    override repository(name: string, context: RequestContext) {
      return new RecordingRepository(this.inner.repository(name, context));
    }
  }
  const wrap = (registry: Registry): Registry => new RecordingRegistry(registry);
  return () => Promise.resolve({ name: "recorder", wrap });
}

/** Runs skopeo expecting it to fail; returns its stderr. */
async function skopeoFails(...args: string[]): Promise<string> {
  const policy = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
  const out = await new Deno.Command("skopeo", {
    args: ["--policy", policy, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(policy);
  assert.notEqual(out.code, 0, "skopeo was expected to fail");
  return new TextDecoder().decode(out.stderr);
}

async function image(): Promise<{ layout: Layout; ref: string }> {
  const layout = await Layout.create();
  const manifest = await layout.image([20_000, 30_000, 40_000]);
  await layout.tag(manifest, "v1");
  return { layout, ref: `oci:${layout.dir}:v1` };
}

Deno.test("skopeo schema 1: v2s1 in and out with identical digests and bytes", async () => {
  const pushed: Uint8Array[] = [];
  const reg = await startRegistry({ doc: ENABLED, capabilities: [recorder(pushed)] });
  const { layout, ref } = await image();
  const out = await Deno.makeTempDir({ prefix: "berth-s1-out-" });
  try {
    const dest = `docker://${reg.host}/s1/app:v1`;
    await skopeo("copy", "--format", "v2s1", "--dest-tls-verify=false", ref, dest);
    assert.equal(pushed.length, 1);
    const sent = pushed[0];
    const sentDoc = JSON.parse(new TextDecoder().decode(sent));
    assert.equal(sentDoc.schemaVersion, 1);
    assert.equal(sentDoc.fsLayers.length, 3);
    assert.equal(sentDoc.signatures.length, 1);

    const inspect = JSON.parse(await skopeo("inspect", "--tls-verify=false", dest));
    const raw = await skopeo("inspect", "--tls-verify=false", "--raw", dest);
    assert.equal(raw, new TextDecoder().decode(sent), "served exactly as skopeo pushed it");
    const res = await fetch(`${reg.url}/v2/s1/app/manifests/v1`, { headers: { Accept: SIGNED } });
    assert.equal(res.headers.get("content-type"), SIGNED);
    const digest = res.headers.get("docker-content-digest");
    assert.equal((await verifyServed(await res.bytes())).digest, digest);
    assert.equal(inspect.Digest, digest);
    assert.equal(inspect.Layers.length, 3);

    await skopeo("copy", "--src-tls-verify=false", dest, `dir:${out}`);
    const copied = await Deno.readFile(`${out}/manifest.json`);
    assert.deepEqual(copied, sent);
    // skopeo's own digest of what it fetched (libtrust's payload rule) is Berth's.
    assert.equal((await skopeo("manifest-digest", `${out}/manifest.json`)).trim(), digest);
    // Every layer came back whole.
    for (const { blobSum } of sentDoc.fsLayers as { blobSum: string }[]) {
      assert.deepEqual(
        await Deno.readFile(`${out}/${blobSum.slice(7)}`),
        await layout.read(blobSum),
      );
    }
    // By digest too.
    const byDigest = await skopeo(
      "inspect",
      "--tls-verify=false",
      "--raw",
      `docker://${reg.host}/s1/app@${digest}`,
    );
    assert.equal(byDigest, raw);
  } finally {
    await Deno.remove(out, { recursive: true });
    await layout.remove();
    await reg.close();
  }
});

Deno.test("skopeo schema 1: the same push is refused clearly when schema 1 is off", async () => {
  const reg = await startRegistry();
  const { layout, ref } = await image();
  try {
    const stderr = await skopeoFails(
      "copy",
      "--format",
      "v2s1",
      "--dest-tls-verify=false",
      ref,
      `docker://${reg.host}/s1/app:v1`,
    );
    assert.match(stderr, /manifest invalid/i);
    assert.match(stderr, /compatibility\.schema1\.enabled/);
    const res = await fetch(`${reg.url}/v2/s1/app/manifests/v1`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  } finally {
    await layout.remove();
    await reg.close();
  }
});

Deno.test("skopeo schema 1: two runs (two keys) leave two signatures, both served and verifying", async () => {
  const reg = await startRegistry({ doc: ENABLED });
  const { layout, ref } = await image();
  try {
    const dest = `docker://${reg.host}/s1/twice:v1`;
    await skopeo("copy", "--format", "v2s1", "--dest-tls-verify=false", ref, dest);
    const first = await fetch(`${reg.url}/v2/s1/twice/manifests/v1`);
    const once = await verifyServed(await first.bytes());
    await skopeo("copy", "--format", "v2s1", "--dest-tls-verify=false", ref, dest);
    const second = await fetch(`${reg.url}/v2/s1/twice/manifests/v1`);
    const digest = second.headers.get("docker-content-digest");
    const twice = await verifyServed(await second.bytes());
    assert.equal(digest, first.headers.get("docker-content-digest"), "the digest is unchanged");
    assert.equal(twice.digest, digest);
    assert.equal(twice.kids.length, 2);
    assert.ok(twice.kids.includes(once.kids[0]), "the first signature is still served");
    assert.notEqual(twice.kids[0], twice.kids[1], "two different keys");
    // skopeo reads the merged manifest and agrees on the digest.
    const inspect = JSON.parse(await skopeo("inspect", "--tls-verify=false", dest));
    assert.equal(inspect.Digest, digest);
  } finally {
    await layout.remove();
    await reg.close();
  }
});
