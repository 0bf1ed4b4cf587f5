/**
 * @module
 * HTML built from template literals with strict escaping: every value interpolated into
 * {@linkcode html} is escaped (`& < > " '`), unless it is itself {@linkcode Html} made by
 * this module. Arrays are joined; `null`, `undefined` and `false` render nothing. Values
 * only ever appear in text or in quoted attributes, so escaping those five characters is
 * enough; URLs in attributes are built by `paths.ts`, never taken from content.
 */

/** Markup that is already safe to emit. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated. */
export type Renderable =
  | Html
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly Renderable[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `text` with the characters that matter in HTML text and quoted attributes escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(value: Renderable): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** A template of markup whose interpolated values are escaped. */
export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Markup from a trusted constant of this code base (never from content or a request). */
export function trusted(text: string): Html {
  return new Html(text);
}
