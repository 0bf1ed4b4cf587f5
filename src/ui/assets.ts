/**
 * @module
 * The stylesheet and the script, served from modules (so they deploy with the code, Deno
 * Deploy included) under names that carry a hash of their content: a page always links
 * the version it was rendered with, and browsers may keep each one forever.
 */
import { createHash } from "node:crypto";
import { SCRIPT } from "./assets/script.ts";
import { STYLE } from "./assets/style.ts";

/** One asset: its file name (with the content hash), type and bytes. */
export interface Asset {
  file: string;
  type: string;
  body: Uint8Array;
}

function asset(base: string, ext: string, type: string, text: string): Asset {
  const body = new TextEncoder().encode(text);
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { file: `${base}.${hash}.${ext}`, type, body };
}

/** The assets every page links. */
export const ASSETS = {
  style: asset("style", "css", "text/css; charset=utf-8", STYLE),
  script: asset("app", "js", "text/javascript; charset=utf-8", SCRIPT),
} as const;

const BY_FILE = new Map(Object.values(ASSETS).map((a) => [a.file, a]));

/** The asset named `file`, or null. */
export function assetNamed(file: string): Asset | null {
  return BY_FILE.get(file) ?? null;
}
