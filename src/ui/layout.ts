/**
 * @module
 * The page shell every UI page shares (header with sign-in state, main, footer) and the
 * responses: HTML with a strict Content-Security-Policy (scripts and styles only from
 * this origin, no frames, forms only to this origin), never cached, with the visitor's
 * cookies; redirects after a POST are 303s.
 */
import { ASSETS } from "./assets.ts";
import type { UiRequest } from "./context.ts";
import { type Html, html, type Renderable, trusted } from "./html.ts";
import { paths } from "./paths.ts";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** The mark in the header (and the favicon). */
const LOGO = trusted(
  '<svg viewBox="0 0 24 24" aria-hidden="true"><rect x="2" y="13" width="20" height="7" rx="1.5" ' +
    'fill="#0b5cad"/><rect x="5" y="7" width="6" height="5" rx="1" fill="#2f8fe0"/>' +
    '<rect x="12" y="4" width="6" height="8" rx="1" fill="#6cb2ff"/></svg>',
);
const FAVICON = "data:image/svg+xml," +
  encodeURIComponent(
    LOGO.text.replace(' aria-hidden="true"', ' xmlns="http://www.w3.org/2000/svg"'),
  );

/** What a page is made of. */
export interface PageParts {
  title: string;
  /** Breadcrumbs above the heading: [label, href] pairs (the last has no link). */
  crumbs?: [string, string | null][];
  body: Renderable;
  status?: number;
  headers?: Record<string, string>;
}

/** The headers every UI response carries. */
function baseHeaders(ui: UiRequest, type: string): Headers {
  const headers = new Headers({
    "Content-Type": type,
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
  });
  for (const c of ui.visitor.cookies) headers.append("Set-Cookie", c);
  return headers;
}

async function header(ui: UiRequest): Promise<Html> {
  const v = ui.visitor;
  let who: Renderable = null;
  if (v.mode === "form") {
    const here = ui.ctx.url.pathname + ui.ctx.url.search;
    who = v.subject === null ? html`<a href="${paths.login(here)}">Sign in</a>` : html`
      <span>Signed in as <strong data-user>${v.subject}</strong></span>
      <form method="post" action="${paths.logout()}">
        <input type="hidden" name="csrf" value="${await v.csrf()}">
        <button type="submit" class="plain small">Sign out</button>
      </form>
    `;
  }
  return html`
    <header class="top">
      <nav aria-label="Main">
        <a class="brand" href="${paths.home()}">${LOGO}<span>Berth</span></a>
        <a href="${paths.home()}">Repositories</a>
        <a href="${paths.registry()}">Registry</a>
        <span class="who">${who}</span>
      </nav>
    </header>
  `;
}

/** A whole page as a response. */
export async function page(ui: UiRequest, parts: PageParts): Promise<Response> {
  const crumbs = parts.crumbs?.length
    ? html`<nav class="crumbs" aria-label="Breadcrumbs">${
      parts.crumbs.map(([label, href], i) =>
        html`${i ? " / " : ""}${href ? html`<a href="${href}">${label}</a>` : label}`
      )
    }</nav>`
    : null;
  const doc = html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>${parts.title} · Berth</title>
        <link rel="icon" href="${FAVICON}">
        <link rel="stylesheet" href="${paths.asset(ASSETS.style.file)}">
        <script src="${paths.asset(ASSETS.script.file)}" defer></script>
      </head>
      <body>
    <a class="skip" href="#main">Skip to content</a>
    ${await header(ui)}
    <main id="main">
    ${crumbs}
    ${parts.body}
    <p id="copy-status" class="hint" role="status" aria-live="polite"></p>
    </main>
    <footer>Berth, an OCI Distribution registry</footer>
      </body>
    </html>
  `;
  const headers = baseHeaders(ui, "text/html; charset=utf-8");
  for (const [k, v] of Object.entries(parts.headers ?? {})) headers.set(k, v);
  return new Response(doc.text.trimStart(), { status: parts.status ?? 200, headers });
}

/** A 303 to `location` (after a POST), carrying the visitor's cookies and `extra` ones. */
export function seeOther(ui: UiRequest, location: string, extra: string[] = []): Response {
  const headers = baseHeaders(ui, "text/plain; charset=utf-8");
  for (const c of extra) headers.append("Set-Cookie", c);
  headers.set("Location", location);
  return new Response(null, { status: 303, headers });
}

/** A button that copies `text` (it appears only with the script). */
export function copyButton(text: string, label: string, name = label): Html {
  return html`
    <button type="button" class="small plain" data-copy="${text}" hidden
      aria-label="${name}">${label}</button>
  `;
}

/** A command with a copy button (the button appears only with the script). */
export function pullCommand(command: string, label = "Copy"): Html {
  return html`
    <div
      class="pull"><code>${command}</code><button type="button" class="small plain" data-copy="${command}" hidden aria-label="${label}: ${command}">${label}</button></div>
  `;
}
