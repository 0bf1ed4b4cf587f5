/**
 * @module
 * Optional backends stay out of the start-up path: nothing `main.ts` imports statically
 * (following `deno info --json`'s module graph, without dynamic imports and without
 * type-only imports, which are erased) reaches the PostgreSQL store or its client, or the
 * client-certificate listener and node:http2, so a registry that does not use them never
 * loads them (and never pays their memory).
 */
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";

const MAIN = fromFileUrl(new URL("../../main.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

/** Modules loaded only when configured, as `deno info` names them. */
const ON_DEMAND = [
  /\/drivers\/metadata\/postgres\.ts$/,
  /^npm:\/?postgres@/,
  // The listener for client certificates, and node:http2 (about 10 MiB of resident memory).
  /\/src\/server\/node_listener\.ts$/,
  /^node:http2$/,
];

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

Deno.test("PostgreSQL and the client-certificate listener are not on main.ts's static import path", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", CONFIG, MAIN],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const byName = new Map(info.modules.map((m) => [m.specifier, m]));
  const resolve = (s: string) => info.redirects[s] ?? s;
  const seen = new Set<string>();
  const walk = (specifier: string) => {
    const s = resolve(specifier);
    if (seen.has(s)) return;
    seen.add(s);
    for (const d of byName.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) walk(d.code.specifier);
    }
  };
  for (const root of info.roots) walk(root);
  assert.ok(seen.size > 20, `only ${seen.size} modules found; the walk is broken`);
  const loaded = [...seen].filter((s) => ON_DEMAND.some((p) => p.test(s)));
  assert.deepEqual(loaded, []);
  // And they are in the graph at all (as dynamic imports), so the test can fail.
  const all = [...byName.keys(), ...Object.keys(info.redirects)];
  for (const p of ON_DEMAND) assert.ok(all.some((s) => p.test(s)), `${p} is not in the graph`);
});
