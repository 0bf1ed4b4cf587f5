/**
 * @module
 * Pages wait a bounded time for repository summaries; a slow count finishes into the
 * cache for the next view, and counts are kept for the TTL, failures not at all.
 */
import assert from "node:assert/strict";
import type { Repository, RepositorySummary } from "../../src/registry/repository.ts";
import { SummaryCache } from "../../src/ui/summaries.ts";

function fakeRepository(delayMs: number, fail = false, name = "x/y") {
  let counted = 0;
  const summary: RepositorySummary = { tags: 3, manifests: 1, blobs: 2, bytes: 10, lastPush: 1 };
  const repo = {
    name,
    summary: async () => {
      counted++;
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error("storage went away");
      return summary;
    },
  } as unknown as Repository;
  return { repo, summary, counted: () => counted };
}

Deno.test("a slow count is not waited for, and is there on the next view", async () => {
  const cache = new SummaryCache();
  const { repo, summary, counted } = fakeRepository(80);
  assert.equal(await cache.within(repo, 10), null);
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(await cache.within(repo, 10), summary);
  assert.equal(counted(), 1, "counted twice");
});

Deno.test("counts are kept for the TTL; failures are not kept", async () => {
  const cache = new SummaryCache(1000);
  const fast = fakeRepository(0);
  const now = Date.now();
  await cache.summary(fast.repo, now);
  await cache.summary(fast.repo, now + 500);
  assert.equal(fast.counted(), 1);
  await cache.summary(fast.repo, now + 1500);
  assert.equal(fast.counted(), 2, "a stale count was served");
  cache.forget("x/y");
  await cache.summary(fast.repo, now + 1600);
  assert.equal(fast.counted(), 3, "forget kept the count");

  const broken = fakeRepository(0, true, "x/broken");
  assert.equal(await cache.within(broken.repo, 50), null);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(await cache.within(broken.repo, 50), null);
  assert.equal(broken.counted(), 2, "a failure was remembered");
});
