/**
 * @module
 * The registry's page: the storage it uses (each blob counted once, however many
 * repositories link it), its backends and their health, and the sections capabilities
 * report through the facade's `status` (mirrors, the notification backlog, the last
 * garbage collection, where those are on). Shown to visitors who may list the catalog.
 */
import type { UiRequest } from "../context.ts";
import { bytes } from "../format.ts";
import { html } from "../html.ts";
import { page } from "../layout.ts";
import { paths } from "../paths.ts";

/** `GET /ui/registry`. */
export async function registryPage(ui: UiRequest): Promise<Response> {
  if (!await ui.visitor.access.canListCatalog()) {
    const anonymous = ui.visitor.mode === "form" && ui.visitor.subject === null;
    return page(ui, {
      title: "Registry",
      status: anonymous ? 401 : 403,
      body: html`
        <h1>Registry</h1>
        <p class="card">The registry's figures are for those who may list
                its catalog${anonymous
                  ? html`: <a href="${paths.login(paths.registry())}">sign in</a>`
                  : ""}.</p>
      `,
    });
  }
  const registry = ui.registry;
  const [usage, health, sections] = await Promise.all([
    ui.deps.summaries.usage(registry).catch(() => null),
    registry.health(),
    registry.status ? registry.status().catch(() => []) : Promise.resolve([]),
  ]);
  const backends = registry.describe();
  return page(ui, {
    title: "Registry",
    crumbs: [["Repositories", paths.home()], ["Registry", null]],
    body: html`
      <h1>Registry</h1>
            <h2>Storage</h2>
            <dl class="facts card">
        <dt>Used</dt>
        <dd data-usage>${usage
          ? html`${
            bytes(usage.bytes)
          } <span class="muted">in ${usage.blobs} blobs, each counted once</span>`
          : "not available"}</dd>
        <dt>Blob storage</dt>
        <dd>${backends.storage}</dd>
        <dt>Metadata</dt>
        <dd>${backends.metadata}</dd>
      </dl>
            <h2>Health</h2>
            <table class="stack" aria-label="Health">
        <thead>
          <tr>
            <th scope="col">Backend</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>${health.map((h) =>
          html`
            <tr>
              <td data-label="Backend">${h.name}</td>
              <td data-label="State">${h.ok
                ? "ok"
                : html`<strong>failing</strong>: ${h.error ?? ""}`}</td>
            </tr>
          `
        )}</tbody>
      </table>
            ${sections.map((s) =>
              html`
                <h2>${s.title}</h2>
                <dl class="facts card">${s.items.map((i) =>
                  html`
                    <dt>${i.label}</dt>
                    <dd>${i.value}</dd>
                  `
                )}</dl>
              `
            )}
    `,
  });
}
