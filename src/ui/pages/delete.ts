/**
 * @module
 * Deleting a tag (the manifest stays) or a manifest (with every tag on it): a GET shows
 * what will go and asks to confirm, which works without a script; the form POSTs with
 * its CSRF token, the visitor's delete right is checked again, and the delete goes through
 * the repository facade like the API's, events and all.
 */
import { tryParseDigest } from "../../oci/digest.ts";
import { isValidTag } from "../../oci/names.ts";
import { readBounded } from "../../http/responses.ts";
import type { UiRequest } from "../context.ts";
import { shortDigest } from "../format.ts";
import { html } from "../html.ts";
import { page, seeOther } from "../layout.ts";
import { paths } from "../paths.ts";
import { errorPage, notVisible, repositoryName } from "./common.ts";

/** What is to be deleted. */
type Target = { tag: string; digest?: undefined } | { digest: string; tag?: undefined };

function target(params: URLSearchParams): Target | null {
  const tag = params.get("tag");
  const digest = params.get("digest");
  if (tag !== null && digest === null && isValidTag(tag)) return { tag };
  if (digest !== null && tag === null && tryParseDigest(digest)) return { digest };
  return null;
}

/** Refusals shared by the confirmation and the delete itself; null when it may go on. */
async function refusal(ui: UiRequest, name: string): Promise<Response | null> {
  if (!await ui.visitor.access.can(name, "pull")) return notVisible(ui, `repository ${name}`);
  if (!ui.deleteEnabled) {
    return errorPage(
      ui,
      405,
      "Deletes are off",
      "This registry does not delete (storage.delete.enabled is false).",
    );
  }
  if (!await ui.visitor.access.can(name, "delete")) {
    return errorPage(ui, 403, "Not allowed", `You may not delete in ${name}.`);
  }
  return null;
}

/** `GET /ui/r/<name>/-/delete?tag=` or `?digest=`: the confirmation. */
export async function confirmDeletePage(ui: UiRequest, raw: string): Promise<Response> {
  const name = repositoryName(raw);
  const refused = await refusal(ui, name);
  if (refused) return refused;
  const what = target(ui.ctx.url.searchParams);
  if (!what) return errorPage(ui, 400, "Nothing to delete", "Name a valid tag or digest.");
  const repo = ui.repository(name);
  let consequence;
  if (what.tag !== undefined) {
    const info = await repo.manifests.stat(what.tag).catch(() => null);
    if (!info) return notVisible(ui, `tag ${what.tag} in ${name}`);
    consequence = html`The tag <strong>${what.tag}</strong> will no longer name manifest
      <code>${shortDigest(info.digest.value)}</code>; the manifest and its other tags stay.`;
  } else {
    const info = await repo.manifests.stat(what.digest).catch(() => null);
    if (!info) return notVisible(ui, `manifest ${what.digest} in ${name}`);
    const tags = await repo.manifests.tagsOf(info.digest, 20);
    consequence = html`Manifest <code>${what.digest}</code> will be deleted${
      tags.items.length
        ? html`
          together with its tags ${tags.items.map((t, i) =>
            html`${i ? ", " : ""}<strong>${t}</strong>`
          )}${tags.more ? " and more" : ""}
        `
        : ""
    }. Clients can no longer pull it from ${name}.`;
  }
  const label = what.tag !== undefined ? `tag ${what.tag}` : `manifest ${shortDigest(what.digest)}`;
  return page(ui, {
    title: `Delete ${label}`,
    crumbs: [["Repositories", paths.home()], [name, paths.repository(name)], ["Delete", null]],
    body: html`
      <h1>Delete ${label}?</h1>
      <div class="card error">
        <p>${consequence}</p>
      </div>
      <form method="post" action="${paths.remove(name)}" class="actions">
              <input type="hidden" name="csrf" value="${await ui.visitor.csrf()}">
              ${what.tag !== undefined
                ? html`<input type="hidden" name="tag" value="${what.tag}">`
                : html`<input type="hidden" name="digest" value="${what.digest}">`}
              <button type="submit" class="danger">Delete ${label}</button>
              <a class="button plain" href="${paths.repository(name)}">Cancel</a>
            </form>
    `,
  });
}

/** `POST /ui/r/<name>/-/delete`: deletes, then back to the repository. */
export async function deleteAction(ui: UiRequest, raw: string): Promise<Response> {
  const name = repositoryName(raw);
  const form = new URLSearchParams(
    new TextDecoder().decode(await readBounded(ui.ctx.request, 16 * 1024, "form", "SIZE_INVALID")),
  );
  if (!await ui.deps.auth.checkCsrf(ui.ctx.request, form.get("csrf"))) {
    return errorPage(
      ui,
      403,
      "Form expired",
      "The form was not sent from this page; reload it and try again.",
    );
  }
  const refused = await refusal(ui, name);
  if (refused) return refused;
  form.delete("csrf");
  const what = target(form);
  if (!what) return errorPage(ui, 400, "Nothing to delete", "Name a valid tag or digest.");
  await ui.repository(name).manifests.delete(what.tag ?? what.digest);
  ui.deps.summaries.forget(name);
  ui.deps.logger.info("deleted through the UI", {
    repository: name,
    ...what,
    user: ui.visitor.subject,
    request_id: ui.ctx.requestId,
  });
  const done = what.tag !== undefined ? `tag ${what.tag}` : `manifest ${shortDigest(what.digest)}`;
  return seeOther(ui, paths.repository(name, null, done));
}
