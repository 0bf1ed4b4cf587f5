/**
 * @module
 * Dead letters: events an endpoint keeps refusing past its `maxage` leave the queue
 * for the endpoint's dead-letter list, which `deno task notifications` lists, redelivers
 * (the same ids, once the endpoint accepts them) and discards, against the KV file of a
 * running registry.
 */
import assert from "node:assert/strict";
import { readEndpointStats } from "../../src/notifications/stats.ts";
import { randomBytes, sha256 } from "../helpers/oci.ts";
import { Receiver } from "../helpers/receiver.ts";
import { startRegistry } from "../helpers/registry.ts";

const COMMAND = new URL("../../src/notifications/command.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Runs the command with `args`; its exit code, JSON output lines and stderr. */
async function notifications(config: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", DENO_JSON, "-A", COMMAND, "--config", config, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return {
    code: out.code,
    lines: text ? text.split("\n").map((l) => JSON.parse(l) as Json) : [],
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("notifications: events past maxage become dead letters that the command lists, redelivers and discards", async (t) => {
  const receiver = await Receiver.start();
  receiver.answer("/flaky", 500);
  const endpoint = {
    name: "flaky",
    url: receiver.url("/flaky"),
    threshold: 1,
    backoff: "100ms",
    maxage: "1s",
  };
  const reg = await startRegistry({
    storage: "disk",
    doc: { notifications: { endpoints: [endpoint] } },
  });
  const config = `${reg.dir}/command.yml`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ berth: { datadir: reg.dir }, notifications: { endpoints: [endpoint] } }),
  );
  const stats = async () => (await readEndpointStats(reg.runtime.drivers.metadata, [endpoint]))[0];
  const push = async (id: string) => {
    const data = randomBytes(700);
    const res = await fetch(`${reg.url}/v2/dead/app/blobs/uploads/?digest=${sha256(data)}`, {
      method: "POST",
      body: data as BodyInit,
      headers: { "X-Request-Id": id },
    });
    assert.equal(res.status, 201);
  };
  try {
    let letters: Json[] = [];
    await t.step("a refused event outlives maxage and moves to the dead letters", async () => {
      await push("dl-1");
      await push("dl-2");
      const deadline = Date.now() + 15_000;
      while ((await stats()).deadLetters < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const s = await stats();
      assert.deepEqual([s.deadLetters, s.pending, s.lastStatus], [2, 0, 500]);
      assert.ok(s.failures >= 1);
      assert.ok(receiver.deliveries.length >= 1);
      assert.ok(receiver.deliveries.every((d) => d.status === 500));
      const listed = await notifications(config, "dead", "flaky");
      assert.equal(listed.code, 0, listed.stderr);
      letters = listed.lines;
      assert.deepEqual(letters.map((l) => l.event.request.id), ["dl-1", "dl-2"]);
      for (const l of letters) {
        assert.match(l.seq, /^\d{13}-\d{6}-/);
        assert.equal(l.event.action, "push");
        assert.match(l.dead.reason, /maxage/);
        assert.match(l.dead.reason, /answered 500/);
        assert.equal(l.dead.lastStatus, 500);
      }
      const status = await notifications(config, "status");
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual(
        status.lines.map((l) => [l.name, l.pending, l.deadLetters, l.lastStatus]),
        [["flaky", 0, 2, 500]],
      );
    });

    await t.step(
      "redelivered letters arrive with their ids once the endpoint accepts",
      async () => {
        receiver.answer("/flaky", 202);
        const first = letters[0].event.id;
        const res = await notifications(config, "redeliver", "flaky", first);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(res.lines, [{ endpoint: "flaky", redelivered: 1 }]);
        await receiver.waitFor(() => receiver.events("/flaky").length >= 1, 10_000, "the letter");
        assert.deepEqual(receiver.events("/flaky").map((e) => e.id), [first]);
        assert.equal((await stats()).deadLetters, 1);
      },
    );

    await t.step("discard drops letters; unknown ids and bad usage fail clearly", async () => {
      const unknown = await notifications(config, "redeliver", "flaky", "no-such-id");
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /1 of the ids named no dead letter of "flaky"/);
      const dropped = await notifications(config, "discard", "flaky", "--all");
      assert.deepEqual(dropped.lines, [{ endpoint: "flaky", discarded: 1 }]);
      assert.deepEqual((await notifications(config, "dead", "flaky")).lines, []);
      assert.equal((await stats()).deadLetters, 0);
      const usage = await notifications(config, "redeliver", "flaky");
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /usage: deno task notifications/);
      const other = await notifications(config, "dead", "nobody");
      assert.equal(other.code, 0);
      assert.match(other.stderr, /Endpoint "nobody" is not configured/);
    });
  } finally {
    await reg.close();
    await receiver.close();
  }
});
