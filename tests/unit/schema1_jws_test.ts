import assert from "node:assert/strict";
import { RegistryError } from "../../src/errors.ts";
import {
  base64url,
  JWS_ALGORITHMS,
  type JwsSignature,
  libtrustKeyId,
  parsePrettyJws,
  prettyJws,
  verifyJws,
} from "../../src/oci/manifests/jws.ts";
import { SCHEMA1_FORMATS, STANDARD_FORMATS } from "../../src/oci/manifests/mod.ts";
import { schema1Format } from "../../src/oci/manifests/schema1.ts";
import { sha256 } from "../helpers/oci.ts";
import {
  jws,
  makeChain,
  newKey,
  payloadBytes,
  payloadDoc,
  sign,
  SIGNED,
  signWithChain,
  UNSIGNED,
  verifyServed,
} from "../helpers/schema1.ts";

const fixture = (name: string) =>
  Deno.readFile(new URL(`../fixtures/schema1/${name}.prettyjws`, import.meta.url));
const LAYER = `sha256:${"a".repeat(64)}`;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

async function rejects(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

function throwsCode(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** Parses and admits `bytes` as a push to `repository` (by tag `tag`). */
async function admit(bytes: Uint8Array, repository: string, tag: string | null) {
  const parsed = SCHEMA1_FORMATS.parse(bytes, SIGNED);
  await SCHEMA1_FORMATS.admit(parsed, { repository, tag });
  return parsed;
}

Deno.test("schema 1: manifests libtrust signed verify, digest their payload and rebuild byte for byte", async () => {
  const cases = [
    [
      "libtrust-compact",
      "exp/app",
      "898bfdbb5e7afae2e5f494fad58109803389aca6bf32484b5477742825038cb1",
    ],
    [
      "libtrust-indented",
      "conv/app",
      "25b0e2808427c1a02cbb40949dd7117d009bbd1582c047b0ca7a3631f3f40065",
    ],
  ];
  for (const [name, repository, hex] of cases) {
    const bytes = await fixture(name);
    const parsed = await admit(bytes, repository, "v1");
    // The digests distribution 2.8.2 reported for these manifests.
    assert.equal(sha256(parsed.digested), `sha256:${hex}`, name);
    assert.equal(parsed.mediaType, SIGNED);
    assert.equal(parsed.sizeless, true);
    assert.equal(parsed.blobs.length, 2 + Number(name === "libtrust-compact"));
    const served = schema1Format.serve!(parsed.digested, parsed.signatures!);
    assert.deepEqual(served.bytes, bytes, `${name} is served as libtrust wrote it`);
    assert.equal(served.mediaType, SIGNED);
  }
});

Deno.test("schema 1: libtrust key IDs are computed as libtrust does", async () => {
  const doc = JSON.parse(new TextDecoder().decode(await fixture("libtrust-compact")));
  const jwk = doc.signatures[0].header.jwk;
  assert.equal(libtrustKeyId(jwk), jwk.kid);
  assert.match(libtrustKeyId((await newKey("RS256")).publicJwk), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
});

Deno.test("schema 1: every algorithm libtrust signs with verifies", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]), "   ");
  for (const alg of JWS_ALGORITHMS) {
    const key = await newKey(alg);
    const [sig] = await sign(payload, [key]);
    assert.equal(sig.header.alg, alg);
    await verifyJws(payload, sig, 0);
    const parsed = await admit(jws(payload, [sig]), "a/b", "t");
    assert.equal(sha256(parsed.digested), sha256(payload), alg);
  }
});

Deno.test("schema 1: signatures by x5c chain verify when each certificate is issued by the next", async () => {
  const chain = await makeChain();
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]));
  const good = await signWithChain(payload, chain.key, chain.x5c);
  await verifyJws(payload, good, 0);
  assert.equal((await verifyServed(jws(payload, [good]))).kids[0], "x5c");
  const broken = await signWithChain(payload, chain.key, [chain.x5c[0], chain.strangerCa]);
  await rejects(verifyJws(payload, broken, 0), "MANIFEST_UNVERIFIED", /not issued by the next/);
  const wrongLeaf = await signWithChain(payload, chain.key, [chain.x5c[1]]);
  await rejects(verifyJws(payload, wrongLeaf, 0), "MANIFEST_UNVERIFIED", /signature is wrong/);
  const garbage = await signWithChain(payload, chain.key, ["AAAA"]);
  await rejects(verifyJws(payload, garbage, 0), "MANIFEST_UNVERIFIED", /does not parse/);
});

Deno.test("schema 1: forged, tampered and mislabelled signatures are MANIFEST_UNVERIFIED", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]));
  const key = await newKey();
  const [sig] = await sign(payload, [key]);
  const flip = (s: string) => (s[5] === "A" ? "B" : "A");
  const forged: JwsSignature = {
    ...sig,
    signature: sig.signature.slice(0, 5) + flip(sig.signature) + sig.signature.slice(6),
  };
  await rejects(
    admit(jws(payload, [forged]), "a/b", "t"),
    "MANIFEST_UNVERIFIED",
    /signature 1 .*wrong/i,
  );
  // A second valid signature does not save a forged one.
  const [other] = await sign(payload, [await newKey()]);
  await rejects(admit(jws(payload, [other, forged]), "a/b", "t"), "MANIFEST_UNVERIFIED", /wrong/);
  // Tampering with the signed bytes (the architecture) breaks the signature.
  const text = new TextDecoder().decode(jws(payload, [sig])).replace('"amd64"', '"arm64"');
  await rejects(admit(enc(text), "a/b", "t"), "MANIFEST_UNVERIFIED", /wrong/);
  // Another key's JWK, or a kid that is not the key's.
  const swapped: JwsSignature = { ...sig, header: { ...sig.header, jwk: other.header.jwk } };
  await rejects(verifyJws(payload, swapped, 0), "MANIFEST_UNVERIFIED", /wrong/);
  const badKid: JwsSignature = {
    ...sig,
    header: { ...sig.header, jwk: { ...sig.header.jwk, kid: "AAAA:BBBB" } },
  };
  await rejects(
    verifyJws(payload, badKid, 0),
    "MANIFEST_UNVERIFIED",
    /key ID "AAAA:BBBB" does not match/,
  );
  for (const alg of ["HS256", "none", "ES384"]) {
    await rejects(
      verifyJws(payload, { ...sig, header: { ...sig.header, alg } }, 0),
      "MANIFEST_UNVERIFIED",
      /./,
    );
  }
  await rejects(
    verifyJws(payload, { ...sig, header: { alg: "ES256" } }, 0),
    "MANIFEST_UNVERIFIED",
    /names no key/,
  );
  // A signed type with no signatures at all.
  throwsCode(() => SCHEMA1_FORMATS.parse(payload, SIGNED), "MANIFEST_UNVERIFIED", /no signatures/);
});

Deno.test("schema 1: payloads cut inconsistently are MANIFEST_INVALID", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]));
  const [a, b] = await sign(payload, [await newKey(), await newKey()]);
  const header = (s: JwsSignature) =>
    JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(atob(s.protected.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
          c.charCodeAt(0)),
      ),
    );
  const reprotect = (s: JwsSignature, change: Record<string, unknown>): JwsSignature => ({
    ...s,
    protected: base64url(JSON.stringify({ ...header(s), ...change })),
  });
  const doc = (sigs: JwsSignature[]) => jws(payload, sigs);
  const cases: [JwsSignature[], RegExp][] = [
    [[a, reprotect(b, { formatLength: header(b).formatLength - 1 })], /disagree on formatLength/],
    [[a, reprotect(b, { formatTail: base64url("\n}") })], /disagree on formatTail/],
    [[reprotect(a, { formatLength: 1e9 })], /beyond the end/],
    [[reprotect(a, { formatLength: "12" })], /no valid formatLength/],
    [[reprotect(a, { formatTail: undefined })], /no valid formatTail/],
    [[{ ...a, protected: "!!" }], /protected must be a base64url string/],
    [[{ ...a, protected: base64url("[1]") }], /not a JSON object/],
  ];
  for (const [sigs, message] of cases) {
    throwsCode(() => SCHEMA1_FORMATS.parse(doc(sigs), SIGNED), "MANIFEST_INVALID", message);
  }
  // The signatures must be a non-empty list of objects.
  const bare = JSON.parse(new TextDecoder().decode(payload));
  throwsCode(
    () => SCHEMA1_FORMATS.parse(enc({ ...bare, signatures: [] }), SIGNED),
    "MANIFEST_UNVERIFIED",
    /no signatures/,
  );
  throwsCode(
    () => SCHEMA1_FORMATS.parse(enc({ ...bare, signatures: [1] }), SIGNED),
    "MANIFEST_INVALID",
    /signatures\[0\]/,
  );
});

Deno.test("schema 1: payloads are checked like distribution checks them", async () => {
  const base = payloadDoc("a/b", "t", [LAYER, LAYER]);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...base, history: [base.history as unknown[]][0].slice(1) }, /same length, got 1 and 2/],
    [{ ...base, fsLayers: [], history: [] }, /fsLayers must be a non-empty list/],
    [
      { ...base, fsLayers: [{ blobSum: "sha256:short" }, { blobSum: LAYER }] },
      /fsLayers\[0\].blobSum/,
    ],
    [{ ...base, history: [{ v1Compatibility: 1 }, { v1Compatibility: "{}" }] }, /history\[0\]/],
    [{ ...base, name: 7 }, /name must be a string/],
    [{ ...base, tag: undefined }, /tag must be a string/],
    [{ ...base, schemaVersion: 2, mediaType: undefined }, /schemaVersion must be 1/],
  ];
  for (const [doc, message] of bad) {
    throwsCode(() => SCHEMA1_FORMATS.parse(enc(doc), UNSIGNED), "MANIFEST_INVALID", message);
    const signed = jws(payloadBytes(doc), await sign(payloadBytes(doc), [await newKey()]));
    throwsCode(() => SCHEMA1_FORMATS.parse(signed, SIGNED), "MANIFEST_INVALID", message);
  }
  // The same layer twice is one reference; sizes are unknown.
  const parsed = SCHEMA1_FORMATS.parse(enc(base), UNSIGNED);
  assert.deepEqual(parsed.blobs.map((b) => b.digest), [LAYER]);
  assert.equal(parsed.mediaType, UNSIGNED);
  assert.deepEqual(parsed.target, { name: "a/b", tag: "t" });
});

Deno.test("schema 1: the name and tag must be those of the URL", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]));
  const bytes = jws(payload, await sign(payload, [await newKey()]));
  await rejects(
    admit(bytes, "a/other", "t"),
    "NAME_INVALID",
    /names repository "a\/b", but it is pushed to "a\/other"/,
  );
  await rejects(admit(bytes, "a/b", "u"), "TAG_INVALID", /names tag "t", but it is pushed as "u"/);
  await admit(bytes, "a/b", null); // by digest, the tag is not compared
});

Deno.test("schema 1: the media type is told by the document when the client does not say", () => {
  const doc = payloadDoc("a/b", "t", [LAYER]);
  for (const type of [null, "application/json", UNSIGNED]) {
    assert.equal(SCHEMA1_FORMATS.parse(enc(doc), type).mediaType, UNSIGNED);
  }
  // Without compatibility.schema1.enabled, schema 1 is refused saying so.
  for (const type of [null, UNSIGNED, SIGNED]) {
    throwsCode(
      () => STANDARD_FORMATS.parse(enc(doc), type),
      "MANIFEST_INVALID",
      /compatibility\.schema1\.enabled/,
    );
  }
});

Deno.test("schema 1: several signatures are served in libtrust's order, each verifying", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]), "   ");
  const sigs = await sign(payload, [await newKey(), await newKey("RS256"), await newKey("ES512")]);
  const one = prettyJws(payload, payload.byteLength - 2, sigs);
  const other = prettyJws(payload, payload.byteLength - 2, [...sigs].reverse());
  assert.deepEqual(one, other, "the order does not depend on the order given");
  const { kids } = await verifyServed(one);
  assert.deepEqual(kids, [...kids].sort());
  assert.equal(kids.length, 3);
  const text = new TextDecoder().decode(one);
  assert.ok(text.includes(',\n   "signatures": [\n      {\n         "header": {'), text);
  assert.ok(text.endsWith("\n   ]\n}"));
});

Deno.test("schema 1: the pretty JWS of a parse is the parse of the pretty JWS", async () => {
  const payload = payloadBytes(payloadDoc("a/b", "t", [LAYER]), "\t");
  const sigs = await sign(payload, [await newKey(), await newKey()]);
  const bytes = jws(payload, sigs);
  const parsed = parsePrettyJws(bytes, JSON.parse(new TextDecoder().decode(bytes)));
  assert.deepEqual(parsed.payload, payload);
  assert.deepEqual(prettyJws(parsed.payload, parsed.formatLength, parsed.signatures), bytes);
});
