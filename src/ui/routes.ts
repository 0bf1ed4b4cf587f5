/**
 * @module
 * The UI's routes. Every one is open at the authorize step (`access: "none"`): the UI
 * knows its visitor from its own session cookie (`visitor.ts`) and asks the access
 * policy itself, page by page. `/` sends browsers (an `Accept` naming `text/html`) to
 * the UI and answers everyone else as before; nothing under `/v2/` changes.
 *
 * Failures inside a page become HTML pages with the status the API would answer (the
 * error renderer decides it, and logs what it must), never a JSON body in a browser.
 */
import { HttpError } from "../http/http_error.ts";
import { renderError } from "../http/render_error.ts";
import type { Ctx, Handler, Route } from "../http/route.ts";
import { assetNamed } from "./assets.ts";
import { type UiDeps, type UiRequest, uiRequest } from "./context.ts";
import { confirmDeletePage, deleteAction } from "./pages/delete.ts";
import { errorPage } from "./pages/common.ts";
import { loginAction, loginPage, logoutAction } from "./pages/login.ts";
import { manifestPage } from "./pages/manifest.ts";
import { registryPage } from "./pages/registry.ts";
import { repositoriesPage } from "./pages/repositories.ts";
import { repositoryPage } from "./pages/repository.ts";
import { paths } from "./paths.ts";

type Page = (ui: UiRequest, params: Record<string, string>) => Promise<Response>;

/** A page as a handler: its visitor resolved, its failures rendered as HTML. */
function pageHandler(deps: UiDeps, render: Page): Handler {
  return async (ctx: Ctx) => {
    const ui = await uiRequest(ctx, deps);
    try {
      return await render(ui, ctx.params);
    } catch (err) {
      const res = renderError(err, ctx.request, deps.logger, ctx.requestId);
      const body = await res.json().catch(() => null) as
        | { errors?: { message?: string }[] }
        | null;
      const message = body?.errors?.[0]?.message ?? "Something went wrong";
      const headers: Record<string, string> = {};
      const retry = res.headers.get("retry-after");
      if (retry) headers["Retry-After"] = retry;
      const title = res.status >= 500 ? "Something went wrong" : "This did not work";
      return errorPage(ui, res.status, title, message, headers);
    }
  };
}

function redirect(location: string): Response {
  return new Response(null, { status: 302, headers: { Location: location, Vary: "Accept" } });
}

/** True when the request is a browser's navigation (its `Accept` names HTML). */
function wantsHtml(request: Request): boolean {
  return (request.headers.get("accept") ?? "").toLowerCase().includes("text/html");
}

/** What the router answers for a path without a route, as it did before the UI. */
function noEndpoint(ctx: Ctx): Promise<Response> {
  throw new HttpError("UNSUPPORTED", `No API endpoint at ${ctx.url.pathname}`, { status: 404 });
}

/** The routes of the UI. */
export function uiRoutes(deps: UiDeps): Route[] {
  const page = (render: Page) => pageHandler(deps, render);
  return [
    {
      name: "ui-root",
      pattern: /^\/$/,
      methods: {
        GET: (ctx) =>
          wantsHtml(ctx.request) ? Promise.resolve(redirect(paths.home())) : noEndpoint(ctx),
        // Other methods on `/` stay what they were: no endpoint.
        ...Object.fromEntries(["POST", "PUT", "PATCH", "DELETE"].map((m) => [m, noEndpoint])),
      },
      access: "none",
    },
    {
      name: "ui-asset",
      pattern: /^\/ui\/assets\/(?<file>[^/]+)$/,
      methods: {
        GET: (ctx) => {
          const asset = assetNamed(ctx.params.file);
          if (!asset) return Promise.resolve(new Response("Not found\n", { status: 404 }));
          return Promise.resolve(
            new Response(asset.body as BodyInit, {
              headers: {
                "Content-Type": asset.type,
                "Content-Length": String(asset.body.byteLength),
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
              },
            }),
          );
        },
      },
      access: "none",
    },
    {
      name: "ui",
      pattern: /^\/ui\/?$/,
      methods: {
        GET: (ctx) =>
          ctx.url.pathname === "/ui"
            ? Promise.resolve(redirect(paths.home()))
            : page((ui) => repositoriesPage(ui))(ctx),
      },
      access: "none",
    },
    {
      name: "ui-registry",
      pattern: /^\/ui\/registry$/,
      methods: { GET: page((ui) => registryPage(ui)) },
      access: "none",
    },
    {
      name: "ui-login",
      pattern: /^\/ui\/login$/,
      methods: { GET: page((ui) => loginPage(ui)), POST: page((ui) => loginAction(ui)) },
      access: "none",
    },
    {
      name: "ui-logout",
      pattern: /^\/ui\/logout$/,
      methods: { POST: page((ui) => logoutAction(ui)) },
      access: "none",
    },
    {
      name: "ui-delete",
      pattern: /^\/ui\/r\/(?<repo>.+?)\/-\/delete$/,
      methods: {
        GET: page((ui, p) => confirmDeletePage(ui, p.repo)),
        POST: page((ui, p) => deleteAction(ui, p.repo)),
      },
      access: "none",
    },
    {
      name: "ui-manifest",
      pattern: /^\/ui\/r\/(?<repo>.+?)\/-\/m\/(?<reference>[^/]+)$/,
      methods: { GET: page((ui, p) => manifestPage(ui, p.repo, p.reference)) },
      access: "none",
    },
    {
      name: "ui-repository",
      pattern: /^\/ui\/r\/(?<repo>.+?)\/?$/,
      methods: { GET: page((ui, p) => repositoryPage(ui, p.repo)) },
      access: "none",
    },
    {
      name: "ui-not-found",
      pattern: /^\/ui\//,
      methods: {
        GET: page((ui) => errorPage(ui, 404, "Not found", "There is no such page.")),
      },
      access: "none",
    },
  ];
}
