/**
 * @module
 * A repository's page: what it holds, the commands to pull it, and its tags newest first,
 * a page at a time, each with its digest, media type, size, push time and platforms, a
 * copy button for its pull command and, for visitors who may delete, a delete button.
 */
import { RegistryError } from "../../errors.ts";
import type { Repository, TagEntry } from "../../registry/repository.ts";
import type { UiRequest } from "../context.ts";
import type { Brief } from "../inspect.ts";
import { bytes, shortDigest, typeName, when } from "../format.ts";
import { type Html, html } from "../html.ts";
import { copyButton, page, pullCommand } from "../layout.ts";
import { paths } from "../paths.ts";
import { notVisible, repositoryName } from "./common.ts";

/** Tags per page. */
export const TAGS_PER_PAGE = 50;

/** `GET /ui/r/<name>`. */
export async function repositoryPage(ui: UiRequest, raw: string): Promise<Response> {
  const name = repositoryName(raw);
  if (!await ui.visitor.access.can(name, "pull")) return notVisible(ui, `repository ${name}`);
  const repo = ui.repository(name);
  const params = ui.ctx.url.searchParams;
  const after = params.get("after");
  let tags;
  try {
    tags = await repo.tags.recent(TAGS_PER_PAGE, after);
  } catch (err) {
    if (err instanceof RegistryError && err.code === "NAME_UNKNOWN") {
      return notVisible(ui, `repository ${name}`);
    }
    throw err;
  }
  const [summary, canDelete] = await Promise.all([
    ui.deps.summaries.within(repo),
    ui.deleteEnabled ? ui.visitor.access.can(name, "delete") : false,
  ]);
  const rows = await Promise.all(tags.items.map((t) => tagRow(ui, repo, t, canDelete)));
  const deleted = params.get("deleted");
  const newest = tags.items[0]?.name ?? "latest";
  const pullRef = `${ui.host}/${name}:${after ? "<tag>" : newest}`;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const facts = summary
    ? html`<p class="muted">${plural(summary.tags, "tag")} · ${
      plural(summary.manifests, "manifest")
    } · ${bytes(summary.bytes)} · last push ${when(summary.lastPush)}</p>`
    : html`<p class="muted">Still counting what the repository holds; reload in a moment.</p>`;
  const table = rows.length
    ? html`
      <table class="stack" aria-label="Tags">
        <thead>
          <tr>
            <th scope="col">Tag</th>
            <th scope="col">Digest</th>
            <th scope="col">Type</th>
            <th scope="col" class="num">Size</th>
            <th scope="col">Pushed</th>
            <th scope="col">Platforms</th>
            <th scope="col"><span class="muted">Actions</span></th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    `
    : html`<p class="card">No tags${after ? " after this point" : ""}.</p>`;
  const pager = html`<nav class="pager" aria-label="Pages">${
    after ? html`<a href="${paths.repository(name)}">Newest tags</a>` : null
  }${
    tags.next
      ? html`<a href="${paths.repository(name, tags.next)}" rel="next">Older tags</a>`
      : null
  }</nav>`;
  return page(ui, {
    title: name,
    crumbs: [["Repositories", paths.home()], [name, null]],
    body: html`<h1>${name}</h1>${facts}
      ${deleted ? html`<p class="card flash" role="status">Deleted ${deleted}.</p>` : null}
      <div class="card"><h2 class="sr-only">Pull</h2>
        ${pullCommand(`docker pull ${pullRef}`, "Copy docker pull")}
        ${pullCommand(`podman pull ${pullRef}`, "Copy podman pull")}
      </div>
      <h2>Tags <span class="muted">(newest first)</span></h2>
      ${table}${pager}`,
  });
}

async function tagRow(
  ui: UiRequest,
  repo: Repository,
  tag: TagEntry,
  canDelete: boolean,
): Promise<Html> {
  const name = repo.name;
  let brief: Brief | null = null;
  try {
    brief = await ui.deps.inspector.brief(repo, tag.digest);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err; // a tag whose manifest went meanwhile
  }
  const remove = canDelete
    ? html`
      <a class="button small plain danger-text" href="${paths.remove(name, { tag: tag.name })}"
        aria-label="Delete tag ${tag.name}">Delete</a>
    `
    : null;
  return html`
    <tr data-tag="${tag.name}">
      <td data-label="Tag"><a href="${paths.manifest(name, tag.name)}"><strong>${tag
        .name}</strong></a></td>
      <td
        data-label="Digest"><a class="mono" href="${paths.manifest(name, tag.digest)}" title="${tag
          .digest}">${shortDigest(tag.digest)}</a></td>
      <td data-label="Type">${brief ? typeName(brief) : "-"}</td>
      <td data-label="Size" class="num">${brief ? bytes(brief.size) : "-"}</td>
      <td data-label="Pushed">${when(tag.updated)}</td>
      <td data-label="Platforms"><span class="tags">${(brief?.platforms ?? []).map((p) =>
        html`<span class="chip">${p}</span>`
      )}</span></td>
      <td data-label="Actions"><span class="actions">${copyButton(
        `docker pull ${ui.host}/${name}:${tag.name}`,
        "Copy pull",
        `Copy docker pull of ${tag.name}`,
      )}${remove}</span></td>
    </tr>
  `;
}
