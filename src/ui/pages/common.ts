/**
 * @module
 * Pieces several pages share: the repository name from the path, the page for what the
 * visitor may not see (the same 404 whether it exists or not, so names do not leak), and
 * the error page.
 */
import { assertName } from "../../oci/names.ts";
import type { UiRequest } from "../context.ts";
import { html, type Renderable } from "../html.ts";
import { page } from "../layout.ts";
import { paths } from "../paths.ts";

/** The repository name of a path, validated (`NAME_INVALID` otherwise). */
export function repositoryName(raw: string): string {
  return assertName(raw);
}

/** An error page. */
export function errorPage(
  ui: UiRequest,
  status: number,
  title: string,
  message: Renderable,
  headers?: Record<string, string>,
): Promise<Response> {
  return page(ui, {
    title,
    status,
    headers,
    body: html`
      <h1>${title}</h1>
      <div class="card error">
        <p>${message}</p>
      </div>
      <p><a href="${paths.home()}">Back to the repositories</a></p>
    `,
  });
}

/** 404 for a repository or manifest that is absent or that the visitor may not pull. */
export function notVisible(ui: UiRequest, what: string): Promise<Response> {
  const anonymous = ui.visitor.mode === "form" && ui.visitor.subject === null;
  const here = ui.ctx.url.pathname + ui.ctx.url.search;
  return errorPage(
    ui,
    404,
    "Not found",
    html`There is no ${what} here${
      anonymous ? " that anonymous visitors may see" : " you may see"
    }.${
      anonymous
        ? html`
          <a href="${paths.login(here)}">Sign in</a> to see more.
        `
        : null
    }`,
  );
}
