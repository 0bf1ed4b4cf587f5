/**
 * @module
 * Berth only: what webhook notifications cost a push. Two Berth processes side by side,
 * one with a notification endpoint (a receiver in this process answering 202) and one
 * without, take the same pushes in alternating rounds: monolithic 1 MiB blobs (`POST
 * ?digest=` with the body, 4 at a time) and a skopeo image push. In the table the
 * "berth" column is the one with the endpoint, the "distribution" column the one
 * without; the ratio is on / off (target: at least 0.9).
 */
import { skopeoCopy } from "../clients.ts";
import { type Context, MiB } from "../context.ts";
import { sha256 } from "../data.ts";
import { writeImageLayout } from "../image.ts";
import { type Server, startBerth } from "../servers.ts";

const CONCURRENCY = 4;

/** A receiver that accepts every envelope and counts the events in them. */
function startReceiver() {
  const ids = new Set<string>();
  let last = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json().catch(() => ({ events: [] }));
    for (const e of body.events ?? []) ids.add(e.id);
    last = performance.now();
    return new Response(null, { status: 202 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    ids,
    lastAt: () => last,
    close: () => server.shutdown(),
  };
}

/** The `i`-th 1 MiB blob of a run: random bytes with `i` in front (every digest differs). */
function blob(base: Uint8Array, i: number): Uint8Array {
  const bytes = base.slice();
  new DataView(bytes.buffer).setFloat64(0, i);
  return bytes;
}

/** Pushes blobs `from` .. `from + count` with {@linkcode CONCURRENCY} requests in flight. */
async function pushBlobs(s: Server, base: Uint8Array, digests: string[], from: number) {
  let next = from;
  const end = from + digests.length;
  const t = performance.now();
  const worker = async () => {
    while (next < end) {
      const i = next++;
      const res = await fetch(
        `${s.url}/v2/bench/notify/blobs/uploads/?digest=${digests[i - from]}`,
        {
          method: "POST",
          body: blob(base, i) as BodyInit,
          headers: { "Content-Type": "application/octet-stream" },
        },
      );
      await res.body?.cancel();
      if (res.status !== 201) throw new Error(`POST ?digest= answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return digests.length / ((performance.now() - t) / 1000);
}

/** Measures pushes with one endpoint on against none, in one run. */
export async function notifyScenario(ctx: Context): Promise<void> {
  const { root, sizes, report, quick } = ctx;
  const receiver = startReceiver();
  const config = `${root}/notify.yml`;
  await Deno.writeTextFile(
    config,
    `notifications:\n  endpoints:\n    - name: bench\n      url: ${receiver.url}\n`,
  );
  const on = await startBerth(`${root}/berth-notify-on`, { REGISTRY_CONFIGURATION_PATH: config });
  let off: Server | null = null;
  const layouts: string[] = [];
  try {
    off = await startBerth(`${root}/berth-notify-off`);
    // Relabelled for the report: its "berth" column is "on", "distribution" is "off".
    const pair: Server[] = [{ ...on, name: "berth" }, { ...off, name: "distribution" }];
    const count = quick ? 40 : 200;
    const base = crypto.getRandomValues(new Uint8Array(65536));
    const payload = new Uint8Array(MiB);
    for (let i = 0; i < MiB; i += base.byteLength) payload.set(base, i);
    const rounds = sizes.repeats;
    // Warm both processes up (their first requests compile code paths) before timing.
    const warm = Array.from({ length: 8 }, (_, k) => sha256(blob(payload, -8 + k)));
    for (const s of pair) await pushBlobs(s, payload, warm, -8);
    // Digests are computed before any timing; round r pushes blobs r*count .. (r+1)*count.
    const digests = Array.from(
      { length: rounds },
      (_, r) => Array.from({ length: count }, (_, k) => sha256(blob(payload, r * count + k))),
    );
    await report.compare(
      pair,
      `notify: ${count} monolithic 1 MiB pushes, ${CONCURRENCY} at a time (endpoint on / off)`,
      "blobs/s",
      true,
      { ratioAtLeast: 0.9 },
      rounds,
      (s, r) => pushBlobs(s, payload, digests[r], r * count),
    );
    const policy = `${root}/notify-policy.json`;
    await Deno.writeTextFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}');
    for (let i = 0; i < rounds; i++) {
      const dir = `${root}/notify-image-${i}`;
      await writeImageLayout(dir, "bench", sizes.layers, sizes.layerSize);
      layouts.push(dir);
    }
    const mib = (sizes.layers * sizes.layerSize / MiB).toFixed(0);
    const row = await report.compare(
      pair,
      `notify: skopeo push ${sizes.layers} layers, ${mib} MiB (endpoint on / off)`,
      "s",
      false,
      { ratioAtLeast: 0.9 },
      rounds,
      (s, i) =>
        skopeoCopy(policy, [
          "--dest-tls-verify=false",
          `oci:${layouts[i]}:bench`,
          `docker://${s.host}/bench/notify${i}:t`,
        ]),
    );
    // Every push above was an event for the receiver: say how many arrived, and when.
    const expected = 8 + rounds * count + rounds * (sizes.layers + 2);
    const pushedAt = performance.now();
    while (receiver.ids.size < expected && performance.now() - pushedAt < 30_000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    row.notes.push(
      `the receiver got ${receiver.ids.size} of ${expected} events, the last ` +
        `${Math.max(0, (receiver.lastAt() - pushedAt) / 1000).toFixed(1)} s after the last push`,
    );
  } finally {
    await on.stop();
    await off?.stop();
    await receiver.close();
    for (const dir of layouts) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
