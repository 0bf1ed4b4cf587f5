/**
 * End-to-end tests of `/v2/<name>/tags/list` and `/v2/_catalog` (lexical order, `n`,
 * exclusive `last`, `Link` exactly when more remain) and of the tag lifecycle behind
 * them: several tags in one PUT, retagging, DELETE by tag and by digest, racing pushes.
 */
import assert from "node:assert/strict";
import { startRegistry, type TestRegistry } from "../helpers/registry.ts";
import { assertError, pushBlob, pushImage, putManifest } from "../helpers/oci.ts";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const LINK = /^<([^>]+)>; rel="next"$/;

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** GET `path` and assert a 200 JSON listing; returns the items and the next-page path. */
async function page(reg: TestRegistry, path: string, key: "tags" | "repositories") {
  const res = await fetch(reg.url + path);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
  const body = JSON.parse(text);
  assert.ok(Array.isArray(body[key]), text);
  const link = res.headers.get("link");
  let next: string | null = null;
  if (link !== null) {
    const m = LINK.exec(link);
    assert.ok(m, `malformed Link: ${link}`);
    next = m[1];
  }
  return { body, items: body[key] as string[], next };
}

/** Follows `Link` from `path` to the end; returns every page. */
async function walk(reg: TestRegistry, path: string, key: "tags" | "repositories") {
  const pages: string[][] = [];
  let next: string | null = path;
  while (next !== null) {
    assert.ok(pages.length < 100, "pagination does not end");
    const p: { items: string[]; next: string | null } = await page(reg, next, key);
    pages.push(p.items);
    next = p.next;
  }
  return pages;
}

/** Checks paging with `n` over `all`: page sizes, order, and the Link's n and last. */
async function assertPaging(
  reg: TestRegistry,
  base: string,
  key: "tags" | "repositories",
  all: string[],
) {
  for (const n of [1, 2, 3, all.length - 1, all.length, all.length + 5]) {
    const pages = await walk(reg, `${base}?n=${n}`, key);
    assert.deepEqual(pages.flat(), all, `n=${n}`);
    assert.equal(pages.length, Math.max(1, Math.ceil(all.length / n)), `pages for n=${n}`);
    for (const p of pages.slice(0, -1)) assert.equal(p.length, n);
    const first = await page(reg, `${base}?n=${n}`, key);
    if (n < all.length) {
      const link = new URL(first.next!, reg.url);
      assert.equal(link.pathname, base);
      assert.equal(link.searchParams.get("n"), String(n));
      assert.equal(link.searchParams.get("last"), all[n - 1]);
    } else {
      assert.equal(first.next, null, `no Link when n=${n} holds everything`);
    }
  }
}

Deno.test("tags list: lexical order, n, exclusive last and Link", async (t) => {
  const reg = await startRegistry();
  try {
    const image = await pushImage(reg.url, "tl/app", 1);
    const tags = ["v10", "v2", "V1", "latest", "1.0", "10", "9", "a_b", "A", "Z", "_x", "m-1"];
    for (const tag of shuffled(tags)) {
      assert.equal((await putManifest(reg.url, "tl/app", tag, image.text)).status, 201);
    }
    // Byte order: digits, then upper case, then "_", then lower case.
    const sorted = ["1.0", "10", "9", "A", "V1", "Z", "_x", "a_b", "latest", "m-1", "v10", "v2"];
    assert.deepEqual([...tags].sort(), sorted);
    await t.step("without parameters: every tag, sorted, no Link", async () => {
      const p = await page(reg, "/v2/tl/app/tags/list", "tags");
      assert.deepEqual(p.body, { name: "tl/app", tags: sorted });
      assert.equal(p.next, null);
    });
    await t.step("n pages through; Link is present exactly when more remain", async () => {
      await assertPaging(reg, "/v2/tl/app/tags/list", "tags", sorted);
    });
    await t.step("last is exclusive, whether or not it is a tag", async () => {
      const after = await page(reg, "/v2/tl/app/tags/list?last=A", "tags");
      assert.deepEqual(after.items, sorted.slice(4));
      const between = await page(reg, "/v2/tl/app/tags/list?last=B&n=2", "tags");
      assert.deepEqual(between.items, ["V1", "Z"]);
      assert.match(between.next!, /[?&]last=Z(&|$)/);
      const end = await page(reg, "/v2/tl/app/tags/list?n=3&last=v2", "tags");
      assert.deepEqual(end.items, []);
      assert.equal(end.next, null);
      const penultimate = await page(reg, "/v2/tl/app/tags/list?n=1&last=v10", "tags");
      assert.deepEqual(penultimate.items, ["v2"]);
      assert.equal(penultimate.next, null);
    });
    await t.step("n=0 is an empty list without Link", async () => {
      const p = await page(reg, "/v2/tl/app/tags/list?n=0", "tags");
      assert.deepEqual(p.body, { name: "tl/app", tags: [] });
      assert.equal(p.next, null);
    });
    await t.step("a malformed n is PAGINATION_NUMBER_INVALID", async () => {
      for (const n of ["-1", "abc", "1.5", "1e3", "0x10", "%201"]) {
        await assertError(
          await fetch(`${reg.url}/v2/tl/app/tags/list?n=${n}`),
          400,
          "PAGINATION_NUMBER_INVALID",
        );
      }
    });
    await t.step("unknown and invalid repositories", async () => {
      await assertError(await fetch(`${reg.url}/v2/tl/none/tags/list`), 404, "NAME_UNKNOWN");
      await assertError(await fetch(`${reg.url}/v2/tl/none/tags/list?n=1`), 404, "NAME_UNKNOWN");
      await assertError(await fetch(`${reg.url}/v2/TL/app/tags/list`), 400, "NAME_INVALID");
    });
  } finally {
    await reg.close();
  }
});

Deno.test("catalog: nested names in lexical order, paginated", async (t) => {
  const reg = await startRegistry();
  try {
    const names = ["c/b", "a", "a/b/c", "a-b", "a.b", "a_b", "a/b", "0repo", "c", "z/y/x/w"];
    for (const name of shuffled(names)) await pushBlob(reg.url, name, name);
    const sorted = [...names].sort();
    await t.step("every repository, sorted, no Link", async () => {
      const p = await page(reg, "/v2/_catalog", "repositories");
      assert.deepEqual(p.body, { repositories: sorted });
      assert.equal(p.next, null);
    });
    await t.step("n pages through; following Link walks every name once", async () => {
      await assertPaging(reg, "/v2/_catalog", "repositories", sorted);
    });
    await t.step("last is exclusive; n=0 is empty", async () => {
      const after = await page(reg, "/v2/_catalog?last=a/b", "repositories");
      assert.deepEqual(after.items, sorted.slice(sorted.indexOf("a/b") + 1));
      const encoded = await page(reg, "/v2/_catalog?n=2&last=a%2Fb", "repositories");
      assert.deepEqual(encoded.items, sorted.slice(sorted.indexOf("a/b") + 1).slice(0, 2));
      const none = await page(reg, "/v2/_catalog?n=0", "repositories");
      assert.deepEqual(none.body, { repositories: [] });
      assert.equal(none.next, null);
    });
    await t.step("a malformed n is PAGINATION_NUMBER_INVALID", async () => {
      for (const n of ["-1", "abc", "2.0"]) {
        await assertError(
          await fetch(`${reg.url}/v2/_catalog?n=${n}`),
          400,
          "PAGINATION_NUMBER_INVALID",
        );
      }
    });
  } finally {
    await reg.close();
  }
});

async function headDigest(reg: TestRegistry, repo: string, ref: string) {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: "HEAD" });
  return res.status === 200 ? res.headers.get("docker-content-digest") : null;
}

async function tagsOf(reg: TestRegistry, repo: string): Promise<string[]> {
  return (await page(reg, `/v2/${repo}/tags/list`, "tags")).items;
}

function del(reg: TestRegistry, repo: string, ref: string) {
  return fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: "DELETE" });
}

Deno.test("tags: several in one PUT, retag, DELETE by tag and by digest", async (t) => {
  const reg = await startRegistry();
  const repo = "life/app";
  try {
    const a = await pushImage(reg.url, repo, 1);
    const b = await pushImage(reg.url, repo, 1);
    await t.step("PUT by digest with ?tag=a&tag=b answers OCI-Tag; both resolve", async () => {
      const res = await fetch(`${reg.url}/v2/${repo}/manifests/${a.digest}?tag=one&tag=two`, {
        method: "PUT",
        body: a.text,
        headers: { "Content-Type": OCI },
      });
      assert.equal(res.status, 201, await res.text());
      assert.equal(res.headers.get("location"), `/v2/${repo}/manifests/${a.digest}`);
      assert.equal(res.headers.get("docker-content-digest"), a.digest);
      assert.equal(res.headers.get("oci-tag"), "one, two");
      assert.equal(await headDigest(reg, repo, "one"), a.digest);
      assert.equal(await headDigest(reg, repo, "two"), a.digest);
      assert.deepEqual(await tagsOf(reg, repo), ["one", "two"]);
    });
    await t.step("pushing another manifest under a tag moves it", async () => {
      const res = await putManifest(reg.url, repo, "two", b.text);
      assert.equal(res.status, 201);
      assert.equal(res.headers.get("oci-tag"), null, "OCI-Tag only answers ?tag=");
      assert.equal(await headDigest(reg, repo, "two"), b.digest);
      assert.equal(await headDigest(reg, repo, "one"), a.digest);
      assert.deepEqual(await tagsOf(reg, repo), ["one", "two"]);
    });
    await t.step("DELETE by tag removes only that tag", async () => {
      assert.equal((await putManifest(reg.url, repo, "three", a.text)).status, 201);
      const res = await del(reg, repo, "one");
      assert.equal(res.status, 202);
      await assertError(
        await fetch(`${reg.url}/v2/${repo}/manifests/one`),
        404,
        "MANIFEST_UNKNOWN",
      );
      assert.equal(await headDigest(reg, repo, a.digest), a.digest);
      assert.equal(await headDigest(reg, repo, "three"), a.digest);
      assert.deepEqual(await tagsOf(reg, repo), ["three", "two"]);
      await assertError(await del(reg, repo, "one"), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("DELETE by digest removes the manifest and only its own tags", async () => {
      // "two" moved from a to b earlier: deleting a must leave it alone.
      assert.equal((await putManifest(reg.url, repo, "four", a.text)).status, 201);
      const res = await del(reg, repo, a.digest);
      assert.equal(res.status, 202);
      await res.body?.cancel();
      for (const ref of [a.digest, "three", "four"]) {
        await assertError(
          await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`),
          404,
          "MANIFEST_UNKNOWN",
        );
      }
      assert.equal(await headDigest(reg, repo, "two"), b.digest);
      assert.deepEqual(await tagsOf(reg, repo), ["two"]);
      await assertError(await del(reg, repo, a.digest), 404, "MANIFEST_UNKNOWN");
    });
    await t.step("a deleted manifest can be pushed again and tagged", async () => {
      assert.equal((await putManifest(reg.url, repo, "back", a.text)).status, 201);
      assert.equal(await headDigest(reg, repo, "back"), a.digest);
      assert.deepEqual(await tagsOf(reg, repo), ["back", "two"]);
    });
  } finally {
    await reg.close();
  }
});

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`tags (${storage}): 10 racing pushes to one tag leave one consistent tag`, async () => {
    const reg = await startRegistry({ storage });
    const repo = "race/app";
    try {
      const images = await Promise.all(
        Array.from({ length: 10 }, () => pushImage(reg.url, repo, 1)),
      );
      const results = await Promise.all(
        images.map((img) => putManifest(reg.url, repo, "latest", img.text)),
      );
      for (const r of results) assert.equal(r.status, 201, await r.text());
      const winner = await headDigest(reg, repo, "latest");
      assert.ok(images.some((img) => img.digest === winner), `tag points at ${winner}`);
      assert.deepEqual(await tagsOf(reg, repo), ["latest"]);
      // The losers are stored by digest, untagged: deleting one leaves the tag alone.
      const loser = images.find((img) => img.digest !== winner)!;
      assert.equal((await del(reg, repo, loser.digest)).status, 202);
      assert.equal(await headDigest(reg, repo, "latest"), winner);
      // The reverse index agrees with the tag: deleting the winner takes the tag with it.
      assert.equal((await del(reg, repo, winner!)).status, 202);
      await assertError(
        await fetch(`${reg.url}/v2/${repo}/manifests/latest`),
        404,
        "MANIFEST_UNKNOWN",
      );
      assert.deepEqual(await tagsOf(reg, repo), []);
      for (const img of images.filter((i) => i.digest !== winner && i !== loser)) {
        assert.equal(await headDigest(reg, repo, img.digest), img.digest);
      }
    } finally {
      await reg.close();
    }
  });
}

for (const storage of ["memory", "disk"] as const) {
  Deno.test(`tags (${storage}): a manifest with 150 tags is deleted with all of them`, async () => {
    const reg = await startRegistry({ storage });
    const repo = `many/${"r".repeat(200)}`; // long keys, still within commit limits
    try {
      const image = await pushImage(reg.url, repo, 1);
      const tags: string[] = [];
      for (let k = 0; k < 3; k++) {
        const batch = Array.from({ length: 50 }, (_, i) => `t${k}-${String(i).padStart(2, "0")}`);
        tags.push(...batch);
        const query = batch.map((t) => `tag=${t}`).join("&");
        const res = await fetch(`${reg.url}/v2/${repo}/manifests/${image.digest}?${query}`, {
          method: "PUT",
          body: image.text,
          headers: { "Content-Type": OCI },
        });
        assert.equal(res.status, 201, await res.text());
        assert.equal(res.headers.get("oci-tag"), batch.join(", "));
      }
      assert.deepEqual(await tagsOf(reg, repo), tags.sort());
      const res = await del(reg, repo, image.digest);
      assert.equal(res.status, 202, await res.text());
      assert.deepEqual(await tagsOf(reg, repo), []);
      assert.equal(await headDigest(reg, repo, image.digest), null);
      assert.equal(await headDigest(reg, repo, "t2-49"), null);
    } finally {
      await reg.close();
    }
  });
}
