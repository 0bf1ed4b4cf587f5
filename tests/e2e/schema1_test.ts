/**
 * @module
 * Docker schema 1 over real HTTP: refused unless `compatibility.schema1.enabled`; signed
 * manifests verified on push, stored as their payload, their signatures kept and merged
 * across pushes and served rebuilt so each one verifies; every refusal with its code;
 * unsigned manifests round-trip; deletes take the signatures along; what was stored is
 * still served after the setting is turned off.
 */
import assert from "node:assert/strict";
import { systemContext } from "../../src/registry/events.ts";
import type { ManifestRecord } from "../../src/registry/records.ts";
import { base64url, type JwsSignature, signJws } from "../../src/oci/manifests/jws.ts";
import { assertError, pushBlob, putManifest, randomBytes, sha256 } from "../helpers/oci.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import {
  jws,
  newKey,
  payloadBytes,
  payloadDoc,
  sign,
  SIGNED,
  signedManifest,
  UNSIGNED,
  verifyServed,
} from "../helpers/schema1.ts";

const ENABLED = { compatibility: { schema1: { enabled: true } } };
const dec = new TextDecoder();

function get(reg: TestRegistry, repo: string, ref: string, init: RequestInit = {}) {
  return fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, init);
}

/** Pushes `n` random layers to `repo`; returns their digests. */
async function layers(reg: TestRegistry, repo: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push((await pushBlob(reg.url, repo, randomBytes(512 + i))).digest);
  }
  return out;
}

async function created(res: Response, digest: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 201, text);
  assert.equal(res.headers.get("docker-content-digest"), digest);
}

/** GET and HEAD agree and serve `bytes` as `mediaType` under `digest`. */
async function served(
  reg: TestRegistry,
  repo: string,
  ref: string,
  digest: string,
  mediaType: string,
  accept?: string,
): Promise<Uint8Array> {
  const headers: Record<string, string> = accept ? { Accept: accept } : {};
  const res = await get(reg, repo, ref, { headers });
  const body = await res.bytes();
  assert.equal(res.status, 200, dec.decode(body));
  assert.equal(res.headers.get("content-type"), mediaType);
  assert.equal(res.headers.get("docker-content-digest"), digest);
  assert.equal(res.headers.get("content-length"), String(body.byteLength));
  const head = await get(reg, repo, ref, { method: "HEAD", headers });
  await head.body?.cancel();
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), String(body.byteLength));
  assert.equal(head.headers.get("content-type"), mediaType);
  assert.equal(head.headers.get("docker-content-digest"), digest);
  return body;
}

Deno.test("schema 1: refused with a clear error unless compatibility.schema1.enabled", async () => {
  const reg = await startRegistry();
  try {
    const [layer] = await layers(reg, "off/app", 1);
    const doc = payloadDoc("off/app", "v1", [layer]);
    const signed = await signedManifest(doc);
    for (const [body, type] of [[signed.text, SIGNED], [JSON.stringify(doc), UNSIGNED]]) {
      for (const contentType of [type, "application/json"]) {
        const res = await putManifest(reg.url, "off/app", "v1", body, contentType);
        assert.equal(res.status, 400);
        const error = (await res.json()).errors[0];
        assert.equal(error.code, "MANIFEST_INVALID");
        assert.match(error.message, /schema 1 .*compatibility\.schema1\.enabled is off/);
      }
    }
    await assertError(await get(reg, "off/app", "v1"), 404, "MANIFEST_UNKNOWN");
  } finally {
    await reg.close();
  }
});

Deno.test("schema 1: unsigned v1+json round-trips as pushed", async () => {
  const reg = await startRegistry({ doc: ENABLED });
  try {
    const repo = "plain/app";
    const text = JSON.stringify(payloadDoc(repo, "v1", await layers(reg, repo, 2)), null, "\t");
    const digest = sha256(text);
    for (const contentType of [UNSIGNED, "application/json"]) {
      await created(await putManifest(reg.url, repo, "v1", text, contentType), digest);
    }
    for (
      const [ref, accept] of [["v1", undefined], [digest, UNSIGNED], [
        "v1",
        `${UNSIGNED}, ${SIGNED}`,
      ]]
    ) {
      const body = await served(reg, repo, ref!, digest, UNSIGNED, accept);
      assert.equal(dec.decode(body), text);
    }
  } finally {
    await reg.close();
  }
});

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`schema 1 (${storage}): signatures are verified, kept apart from the payload and merged across pushes`, async (t) => {
    const reg = await startRegistry({ doc: ENABLED, storage });
    const store = reg.runtime.drivers.metadata;
    const repo = "sig/app";
    try {
      const fsLayers = await layers(reg, repo, 3);
      const doc = payloadDoc(repo, "v1", [fsLayers[2], fsLayers[1], fsLayers[0], fsLayers[0]]);
      const payload = payloadBytes(doc, "   ");
      const digest = sha256(payload);
      const [keyA, keyB, keyC] = [await newKey(), await newKey("RS256"), await newKey("ES384")];
      const [sigA, sigB, sigC] = await sign(payload, [keyA, keyB, keyC]);
      const kept = async () =>
        (await Array.fromAsync(store.list(["manifest-signature", repo, digest]))).length;

      await t.step(
        "one signature: served exactly as pushed, under the payload's digest",
        async () => {
          const first = jws(payload, [sigA]);
          await created(await putManifest(reg.url, repo, "v1", dec.decode(first), SIGNED), digest);
          const body = await served(reg, repo, "v1", digest, SIGNED);
          assert.deepEqual(body, first);
          assert.deepEqual(await served(reg, repo, digest, digest, SIGNED, SIGNED), first);
          // The bytes under the digest are the payload; the record references the fsLayers.
          const blob = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
          assert.deepEqual(await blob.bytes(), payload);
          const record = (await store.get<ManifestRecord>(["manifest", repo, digest]))!.value;
          assert.equal(record.size, payload.byteLength);
          assert.equal(record.mediaType, SIGNED);
          assert.deepEqual(record.refs, {
            blobs: [fsLayers[2], fsLayers[1], fsLayers[0]],
            manifests: [],
          });
          assert.equal(await kept(), 1);
        },
      );

      await t.step("a second push with another key adds its signature; both verify", async () => {
        await created(
          await putManifest(reg.url, repo, "v1", dec.decode(jws(payload, [sigB])), SIGNED),
          digest,
        );
        const body = await served(reg, repo, "v1", digest, SIGNED);
        const { digest: servedDigest, kids } = await verifyServed(body);
        assert.equal(servedDigest, digest);
        assert.deepEqual(kids.sort(), [keyA.publicJwk.kid, keyB.publicJwk.kid].sort());
        assert.equal(await kept(), 2);
      });

      await t.step(
        "the same signature again changes nothing; a push of several adds the new",
        async () => {
          await created(
            await putManifest(reg.url, repo, "v1", dec.decode(jws(payload, [sigA])), SIGNED),
            digest,
          );
          assert.equal(await kept(), 2);
          const both = dec.decode(jws(payload, [sigA, sigC]));
          await created(await putManifest(reg.url, repo, digest, both, SIGNED), digest);
          assert.equal(await kept(), 3);
          assert.equal(
            (await verifyServed(await served(reg, repo, "v1", digest, SIGNED))).kids.length,
            3,
          );
        },
      );

      await t.step("an unsigned push of the payload keeps the signatures served", async () => {
        await created(
          await putManifest(reg.url, repo, "v1", dec.decode(payload), UNSIGNED),
          digest,
        );
        assert.equal(
          (await verifyServed(await served(reg, repo, "v1", digest, SIGNED))).kids.length,
          3,
        );
      });

      await t.step("Accept negotiation knows schema 1", async () => {
        const schema2 = "application/vnd.docker.distribution.manifest.v2+json";
        await assertError(
          await get(reg, repo, "v1", { headers: { Accept: schema2 } }),
          404,
          "MANIFEST_UNKNOWN",
        );
        await served(reg, repo, "v1", digest, SIGNED, `${schema2}, ${SIGNED}`);
      });

      await t.step("concurrent pushes with different keys all keep their signature", async () => {
        const keys = await Promise.all([1, 2, 3, 4, 5].map(() => newKey()));
        const sigs = await sign(payload, keys);
        const pushes = await Promise.all(
          sigs.map((sig) =>
            putManifest(reg.url, repo, "v1", dec.decode(jws(payload, [sig])), SIGNED)
          ),
        );
        for (const res of pushes) await created(res, digest);
        assert.equal(await kept(), 8);
        const { kids } = await verifyServed(await served(reg, repo, "v1", digest, SIGNED));
        for (const key of keys) assert.ok(kids.includes(String(key.publicJwk.kid)));
      });

      await t.step("a delete by digest takes the tag and every signature along", async () => {
        const res = await get(reg, repo, digest, { method: "DELETE" });
        assert.equal(res.status, 202, await res.text());
        assert.equal(await kept(), 0);
        await assertError(await get(reg, repo, "v1"), 404, "MANIFEST_UNKNOWN");
        await created(
          await putManifest(reg.url, repo, "v1", dec.decode(jws(payload, [sigC])), SIGNED),
          digest,
        );
        const { kids } = await verifyServed(await served(reg, repo, "v1", digest, SIGNED));
        assert.deepEqual(kids, [keyC.publicJwk.kid]);
      });
    } finally {
      await reg.close();
    }
  });
}

Deno.test("schema 1: every bad push is refused with its code and changes nothing", async () => {
  const reg = await startRegistry({ doc: ENABLED });
  const repo = "bad/app";
  try {
    const fsLayers = await layers(reg, repo, 2);
    const payload = payloadBytes(payloadDoc(repo, "v1", fsLayers));
    const digest = sha256(payload);
    const key = await newKey();
    const [good] = await sign(payload, [key]);
    await created(
      await putManifest(reg.url, repo, "v1", dec.decode(jws(payload, [good])), SIGNED),
      digest,
    );
    const before = await served(reg, repo, "v1", digest, SIGNED);

    const flipped = good.signature.replace(/^(.{10})(.)/, (_, a, c) => a + (c === "A" ? "B" : "A"));
    const forged: JwsSignature = { ...good, signature: flipped };
    const header = JSON.parse(atob(good.protected.replace(/-/g, "+").replace(/_/g, "/")));
    const [other] = await sign(payload, [await newKey()]);
    const conflicting: JwsSignature = {
      ...other,
      protected: base64url(JSON.stringify({ ...header, formatLength: header.formatLength - 1 })),
    };
    const tampered = dec.decode(jws(payload, [good])).replace('"amd64"', '"arm64"');
    const missing = payloadBytes(payloadDoc(repo, "v1", [...fsLayers, sha256("never pushed")]));
    const elsewhere = payloadBytes(payloadDoc("bad/other", "v1", fsLayers));
    const refusals: [string, string, number, string][] = [
      ["v1", dec.decode(jws(payload, [forged])), 400, "MANIFEST_UNVERIFIED"],
      ["v1", dec.decode(jws(payload, [good, conflicting])), 400, "MANIFEST_INVALID"],
      ["v1", tampered, 400, "MANIFEST_UNVERIFIED"],
      ["v1", dec.decode(jws(missing, await sign(missing, [key]))), 400, "MANIFEST_BLOB_UNKNOWN"],
      ["v1", dec.decode(jws(elsewhere, await sign(elsewhere, [key]))), 400, "NAME_INVALID"],
      ["v2", dec.decode(jws(payload, [other])), 400, "TAG_INVALID"],
      [sha256("x"), dec.decode(jws(payload, [other])), 400, "DIGEST_INVALID"],
      ["v1", dec.decode(payload).replace("{", '{"signatures":[],'), 400, "MANIFEST_UNVERIFIED"],
    ];
    for (const [ref, body, status, code] of refusals) {
      await assertError(await putManifest(reg.url, repo, ref, body, SIGNED), status, code);
    }
    assert.deepEqual(await served(reg, repo, "v1", digest, SIGNED), before);
    await assertError(await get(reg, repo, "v2"), 404, "MANIFEST_UNKNOWN");
    // Too many signatures in one push.
    // (ECDSA here is deterministic: distinct signatures by one key need distinct times.)
    const many: JwsSignature[] = [];
    for (let i = 0; i < 101; i++) many.push(await signJws(payload, key, new Date(i * 1000)));
    await assertError(
      await putManifest(reg.url, repo, "v1", dec.decode(jws(payload, many)), SIGNED),
      400,
      "MANIFEST_INVALID",
    );
    assert.deepEqual(await served(reg, repo, "v1", digest, SIGNED), before);
  } finally {
    await reg.close();
  }
});

Deno.test("schema 1: what was stored is still served when the setting is turned off", async () => {
  const first = await startRegistry({ doc: ENABLED });
  const repo = "keep/app";
  let second: TestRegistry | undefined;
  try {
    const fsLayers = await layers(first, repo, 1);
    const signed = await signedManifest(payloadDoc(repo, "v1", fsLayers));
    await created(await putManifest(first.url, repo, "v1", signed.text, SIGNED), signed.digest);
    const { blobs, metadata } = first.runtime.drivers;
    second = await startRegistry({ driver: blobs, store: metadata });
    assert.deepEqual(await served(second, repo, "v1", signed.digest, SIGNED), signed.bytes);
    await assertError(
      await putManifest(second.url, repo, "v2", signed.text, SIGNED),
      400,
      "MANIFEST_INVALID",
    );
    // A mirror stores what its upstream serves whatever the setting (anyFormat).
    const manifests = second.runtime.deps.registry.repository(repo, systemContext()).manifests;
    const other = await signedManifest(payloadDoc(repo, "v3", fsLayers));
    await manifests.put("v3", other.bytes, SIGNED, [], { anyFormat: true });
    assert.deepEqual(await served(second, repo, "v3", other.digest, SIGNED), other.bytes);
  } finally {
    await second?.close();
    await first.close();
  }
});
