/**
 * @module
 * The home page: the repositories the visitor may pull, searchable by any part of the
 * name, a page at a time (the catalog with the policy as its filter), each with its tag
 * count, size and last push.
 */
import type { UiRequest } from "../context.ts";
import { bytes, when } from "../format.ts";
import { html, type Renderable } from "../html.ts";
import { page } from "../layout.ts";
import { paths } from "../paths.ts";

/** What a figure still being counted shows. */
const COUNTING = html`<span class="muted" title="Still counting; reload in a moment">…</span>`;

/** Repositories per page. */
const PAGE = 50;
/** Longest search accepted (names are at most 255 characters). */
const MAX_QUERY = 255;

/** `GET /ui/`. */
export async function repositoriesPage(ui: UiRequest): Promise<Response> {
  const params = ui.ctx.url.searchParams;
  const q = (params.get("q") ?? "").trim().toLowerCase().slice(0, MAX_QUERY);
  const after = params.get("after");
  const access = ui.visitor.access;
  const found = await ui.registry.catalog(
    PAGE,
    after,
    async (name) => (!q || name.includes(q)) && await access.can(name, "pull"),
  );
  const rows = await Promise.all(found.items.map(async (name) => {
    const s = await ui.deps.summaries.within(ui.repository(name));
    return html`
      <tr>
        <td data-label="Repository"><a href="${paths.repository(name)}">${name}</a></td>
        <td data-label="Tags" class="num">${s?.tags ?? COUNTING}</td>
        <td data-label="Size" class="num">${s ? bytes(s.bytes) : COUNTING}</td>
        <td data-label="Last push">${when(s?.lastPush)}</td>
      </tr>
    `;
  }));
  let content: Renderable;
  if (rows.length) {
    content = html`
      <table class="stack" aria-label="Repositories">
        <thead>
          <tr>
            <th scope="col">Repository</th>
            <th scope="col" class="num">Tags</th>
            <th scope="col" class="num">Size</th>
            <th scope="col">Last push</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    `;
  } else if (q || after) {
    content = html`<p class="card">No repository matches <strong>${q}</strong>${
      after ? " after this point" : ""
    }.</p>`;
  } else {
    content = html`
      <div class="card">
        <p>No repositories to show${ui.visitor.mode === "form" && ui.visitor.subject === null
          ? html`: <a href="${paths.login(paths.home())}">sign in</a> to see those you may pull`
          : "."}</p>
        <p class="hint">Push one with <code>docker push ${ui
          .host}/&lt;name&gt;:&lt;tag&gt;</code>.</p>
      </div>
    `;
  }
  const next = found.more && found.items.length
    ? html`<nav class="pager" aria-label="Pages"><a href="${
      paths.home(q, found.items[found.items.length - 1])
    }" rel="next">Next page</a></nav>`
    : null;
  const external = ui.visitor.mode === "external"
    ? html`
      <p
        class="card error">Access is decided by an external token server, so this page cannot sign you in or show what it holds.</p>
    `
    : null;
  return page(ui, {
    title: "Repositories",
    body: html`<h1>Repositories</h1>${external}
      <form class="search" role="search" method="get" action="${paths.home()}">
        <label for="q" class="muted">Search</label>
        <input id="q" name="q" type="search" value="${q}" placeholder="part of a name" autocomplete="off">
        <button type="submit">Search</button>
        ${q ? html`<a class="button plain" href="${paths.home()}">Clear</a>` : null}
      </form>
      ${content}${next}`,
  });
}
