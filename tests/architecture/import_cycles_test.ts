/**
 * @module
 * The module graph of `main.ts` (every static, type-only and dynamic import of Berth's
 * own files, as `deno info --json` reports it) has no cycle: shared shapes live in leaf
 * modules and each layer only imports the ones below it.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = fromFileUrl(new URL("../../", import.meta.url));
const MAIN = fromFileUrl(new URL("../../main.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

interface InfoDependency {
  code?: { specifier: string };
  type?: { specifier: string };
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** Berth's own modules and the ones each imports. */
async function graph(): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", CONFIG, MAIN],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
  const own = (s: string) => s.startsWith("file://");
  const edges = new Map<string, string[]>();
  for (const m of info.modules) {
    if (!own(m.specifier)) continue;
    const targets = (m.dependencies ?? [])
      .flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => s !== undefined && own(s));
    edges.set(m.specifier, [...new Set(targets)]);
  }
  return edges;
}

/** Every cycle found by a depth-first walk, each as the list of modules along it. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      const s = state.get(next);
      if (s === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found;
}

const name = (specifier: string) => relative(ROOT, fromFileUrl(specifier));

Deno.test("the module graph of main.ts has no import cycle", async () => {
  const edges = await graph();
  assert.ok(edges.size > 50, `only ${edges.size} modules found; is the graph complete?`);
  for (const expected of ["src/app.ts", "src/api/routes.ts", "src/registry/registry.ts"]) {
    assert.ok([...edges.keys()].some((s) => name(s) === expected), `${expected} is in the graph`);
  }
  const found = cycles(edges);
  assert.deepEqual(found.map((c) => c.map(name).join(" -> ")), [], "import cycles");
});

Deno.test("the cycle finder finds a cycle", () => {
  const edges = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(cycles(edges), [["a", "b", "c", "a"]]);
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", []]])), []);
});
