/**
 * @module
 * A manifest's page, by tag or digest: its facts and pull commands; for an index, its
 * platforms, each linking to its image; for an image, the config (platform, created,
 * entrypoint, command, environment, labels, history) and the layers; for an artifact, its
 * type and blobs; its annotations, its referrers grouped by kind (signatures, SBOMs,
 * attestations), and the raw manifest, pretty-printed.
 */
import { RegistryError } from "../../errors.ts";
import { parseDigest, tryParseDigest } from "../../oci/digest.ts";
import { isValidTag } from "../../oci/names.ts";
import type { Descriptor } from "../../oci/manifests/types.ts";
import type { Repository } from "../../registry/repository.ts";
import type { UiRequest } from "../context.ts";
import { bytes, mediaTypeName, platformName, referrerKind, shortDigest, when } from "../format.ts";
import { type Html, html, type Renderable } from "../html.ts";
import {
  type ImageConfigView,
  isAttestationEntry,
  type ManifestView,
  pullSize,
} from "../inspect.ts";
import { page, pullCommand } from "../layout.ts";
import { paths } from "../paths.ts";
import { notVisible, repositoryName } from "./common.ts";

/** Tags of a manifest listed on its page. */
const TAGS_SHOWN = 50;

/** `GET /ui/r/<name>/-/m/<reference>`. */
export async function manifestPage(
  ui: UiRequest,
  raw: string,
  reference: string,
): Promise<Response> {
  const name = repositoryName(raw);
  if (!await ui.visitor.access.can(name, "pull")) return notVisible(ui, `repository ${name}`);
  if (!isValidTag(reference) && !tryParseDigest(reference)) {
    return notVisible(ui, `manifest ${reference.slice(0, 100)} in ${name}`);
  }
  const repo = ui.repository(name);
  let v: ManifestView;
  try {
    v = await ui.deps.inspector.manifest(repo, reference);
  } catch (err) {
    if (err instanceof RegistryError && err.code === "MANIFEST_UNKNOWN") {
      return notVisible(ui, `manifest ${reference} in ${name}`);
    }
    throw err;
  }
  const digest = v.content.digest.value;
  const [tags, referrers, config, canDelete] = await Promise.all([
    repo.manifests.tagsOf(parseDigest(digest), TAGS_SHOWN),
    repo.referrers.list(v.content.digest, null),
    v.kind === "image" ? ui.deps.inspector.config(repo, v.config) : Promise.resolve(null),
    ui.deleteEnabled ? ui.visitor.access.can(name, "delete") : false,
  ]);
  const byTag = isValidTag(reference) ? reference : null;
  const title = byTag ? `${name}:${byTag}` : `${name}@${shortDigest(digest)}`;
  const kindName = v.kind === "index" ? "Index" : v.kind === "image" ? "Image" : `Artifact`;
  const facts = html`<dl class="facts card">
    <dt>Digest</dt><dd><code>${digest}</code></dd>
    <dt>Media type</dt><dd>${mediaTypeName(v.content.mediaType)} <span class="muted">${
    v.content.mediaType !== mediaTypeName(v.content.mediaType) ? v.content.mediaType : ""
  }</span></dd>
    ${
    v.artifactType
      ? html`
        <dt>Artifact type</dt>
        <dd>${v.artifactType}</dd>
      `
      : null
  }
    <dt>Manifest size</dt><dd>${bytes(v.content.size)}</dd>
    ${
    v.kind !== "index"
      ? html`
        <dt>Content size</dt>
        <dd>${bytes(pullSize(v))}</dd>
      `
      : null
  }
    <dt>Pushed</dt><dd>${when(v.content.created)}</dd>
    <dt>Tags</dt><dd><span class="tags">${
    tags.items.length
      ? tags.items.map((t) => html`<a class="chip" href="${paths.manifest(name, t)}">${t}</a>`)
      : html`<span class="muted">untagged</span>`
  }${tags.more ? html`<span class="muted">and more</span>` : null}</span></dd>
    ${
    v.subject
      ? html`
        <dt>Refers to</dt>
        <dd><a class="mono" href="${paths.manifest(name, v.subject.digest)}">${v.subject
          .digest}</a></dd>
      `
      : null
  }
  </dl>`;
  const ref = `${ui.host}/${name}@${digest}`;
  const remove = canDelete
    ? html`<p><a class="button danger" href="${
      paths.remove(name, { digest })
    }">Delete this manifest</a>
      <span class="hint">with every tag on it</span></p>`
    : null;
  return page(ui, {
    title,
    crumbs: [["Repositories", paths.home()], [name, paths.repository(name)], [
      byTag ?? shortDigest(digest),
      null,
    ]],
    body: html`
      <h1>${kindName} ${title}</h1>
            ${facts}
            <div class="card">
              ${pullCommand(`docker pull ${ref}`, "Copy docker pull")}
              ${pullCommand(`podman pull ${ref}`, "Copy podman pull")}
            </div>
            ${v.kind === "index" ? platformsSection(name, v) : null}
            ${v.kind === "image" ? configSection(config) : null}
            ${v.kind !== "index" ? layersSection(v) : null}
            ${annotationsSection(v.annotations)}
            ${referrersSection(repo, referrers)}
            <details class="card" id="raw">
        <summary>Raw manifest</summary>
        <pre><code>${v.pretty}</code></pre>
      </details>
            ${remove}
    `,
  });
}

function platformsSection(name: string, v: ManifestView): Html {
  const row = (d: Descriptor, label: string) =>
    html`
      <tr>
        <td data-label="Platform"><a href="${paths.manifest(name, d.digest)}">${label}</a></td>
        <td data-label="Digest"><a class="mono" href="${paths.manifest(
          name,
          d.digest,
        )}">${shortDigest(d.digest)}</a></td>
        <td data-label="Type">${mediaTypeName(d.mediaType)}</td>
        <td data-label="Size" class="num">${bytes(d.size)}</td>
      </tr>
    `;
  const images = v.children.filter((d) => !isAttestationEntry(d));
  const others = v.children.filter(isAttestationEntry);
  return html`
    <h2>Platforms</h2>
    <table class="stack" aria-label="Platforms">
      <thead>
        <tr>
          <th scope="col">Platform</th>
          <th scope="col">Digest</th>
          <th scope="col">Type</th>
          <th scope="col" class="num">Manifest size</th>
        </tr>
      </thead>
      <tbody>${images.map((d) => row(d, platformName(d.platform) || "unspecified"))}
        ${others.map((d) => row(d, "attestation"))}</tbody>
    </table>
  `;
}

function list(values: string[] | null): Renderable {
  if (!values || values.length === 0) return html`<span class="muted">-</span>`;
  return html`<code>${JSON.stringify(values)}</code>`;
}

function configSection(c: ImageConfigView | null): Html {
  if (!c) {
    return html`
      <h2>Configuration</h2>
      <p class="card muted">The image config cannot be read.</p>
    `;
  }
  const labels = Object.entries(c.labels);
  return html`<h2>Configuration</h2>
    <dl class="facts card">
      <dt>Platform</dt><dd>${c.platform || "-"}</dd>
      <dt>Created</dt><dd>${c.created ? when(Date.parse(c.created)) : "-"}</dd>
      ${
    c.author
      ? html`
        <dt>Author</dt>
        <dd>${c.author}</dd>
      `
      : null
  }
      <dt>Entrypoint</dt><dd>${list(c.entrypoint)}</dd>
      <dt>Command</dt><dd>${list(c.cmd)}</dd>
      ${
    c.workingDir
      ? html`
        <dt>Working dir</dt>
        <dd><code>${c.workingDir}</code></dd>
      `
      : null
  }
      ${
    c.user
      ? html`
        <dt>User</dt>
        <dd><code>${c.user}</code></dd>
      `
      : null
  }
      ${
    c.exposedPorts.length
      ? html`
        <dt>Ports</dt>
        <dd>${c.exposedPorts.join(", ")}</dd>
      `
      : null
  }
      <dt>Environment</dt><dd>${
    c.env.length
      ? c.env.map((e) => html`<div><code>${e}</code></div>`)
      : html`<span class="muted">-</span>`
  }</dd>
    </dl>
    ${pairsTable(html`<h3>Labels</h3>`, "Labels", "Label", labels)}
    ${
    c.history.length
      ? html`
        <h3>History</h3>
        <table class="stack" aria-label="History">
          <thead>
            <tr>
              <th scope="col">Created</th>
              <th scope="col">Step</th>
            </tr>
          </thead>
          <tbody>${c.history.map((h) =>
            html`
              <tr>
                <td data-label="Created">${h.created ? when(Date.parse(h.created)) : "-"}</td>
                <td data-label="Step"><code>${h.createdBy || h.comment || "-"}</code>${h.empty
                  ? html`
                    <span class="chip">no layer</span>
                  `
                  : null}</td>
              </tr>
            `
          )}</tbody>
        </table>
      `
      : null
  }`;
}

function layersSection(v: ManifestView): Html {
  const title = v.kind === "image" ? "Layers" : "Blobs";
  if (!v.layers.length) {
    return html`
      <h2>${title}</h2>
      <p class="card muted">None.</p>
    `;
  }
  return html`
    <h2>${title}</h2>
    <table class="stack" aria-label="${title}">
      <thead>
        <tr>
          <th scope="col" class="num">#</th>
          <th scope="col">Digest</th>
          <th scope="col">Media type</th>
          <th scope="col" class="num">Size</th>
        </tr>
      </thead>
      <tbody>${v.layers.map((l, i) =>
        html`
          <tr>
            <td data-label="#" class="num">${i + 1}</td>
            <td data-label="Digest"><code title="${l.digest}">${shortDigest(l.digest)}</code></td>
            <td data-label="Media type">${mediaTypeName(l.mediaType)}</td>
            <td data-label="Size" class="num">${bytes(l.size)}</td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

function annotationsSection(annotations: Record<string, string>): Renderable {
  const entries = Object.entries(annotations);
  return pairsTable(html`<h2>Annotations</h2>`, "Annotations", "Key", entries);
}

/** A table of names and values (labels, annotations) under `heading`; nothing when empty. */
function pairsTable(
  heading: Renderable,
  title: string,
  keyName: string,
  entries: [string, string][],
): Renderable {
  if (!entries.length) return null;
  return html`
    ${heading}
    <table class="stack" aria-label="${title}">
      <thead>
        <tr>
          <th scope="col">${keyName}</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>${entries.map(([k, val]) =>
        html`
          <tr>
            <td data-label="${keyName}"><code>${k}</code></td>
            <td data-label="Value">${val}</td>
          </tr>
        `
      )}</tbody>
    </table>
  `;
}

function referrersSection(repo: Repository, referrers: Descriptor[]): Html {
  if (!referrers.length) {
    return html`
      <h2>Referrers</h2>
      <p class="card muted">No signatures, SBOMs or attestations refer to this manifest.</p>
    `;
  }
  const groups = new Map<string, Descriptor[]>();
  for (const r of referrers) {
    const kind = referrerKind(r.artifactType);
    groups.set(kind, [...groups.get(kind) ?? [], r]);
  }
  const order = ["Signatures", "SBOMs", "Attestations", "Other artifacts"];
  const sections = [...groups].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  return html`<h2>Referrers</h2>${
    sections.map(([kind, items]) =>
      html`
        <h3>${kind} <span class="muted">(${items.length})</span></h3>
        <table class="stack" aria-label="${kind}">
          <thead>
            <tr>
              <th scope="col">Artifact type</th>
              <th scope="col">Digest</th>
              <th scope="col" class="num">Size</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>${items.map((r) => {
            const created = r.annotations?.["org.opencontainers.image.created"];
            return html`
              <tr data-referrer="${r.digest}">
                <td data-label="Artifact type">${r.artifactType ?? "-"}</td>
                <td data-label="Digest"><a class="mono" href="${paths.manifest(
                  repo.name,
                  r.digest,
                )}">${shortDigest(r.digest)}</a></td>
                <td data-label="Size" class="num">${bytes(r.size)}</td>
                <td data-label="Created">${created ? when(Date.parse(created)) : "-"}</td>
              </tr>
            `;
          })}</tbody>
        </table>
      `
    )
  }`;
}
