/**
 * @module
 * Signing in and out. The form checks the `auth:` section's users (failures are logged
 * with the user name and address, never the password, and ten within a minute from one
 * address get 429, as on the API); success sets the session cookie and goes back where
 * the visitor came from (paths of this UI only). Signing out is a POST with the CSRF token.
 */
import { RegistryError } from "../../errors.ts";
import { readBounded } from "../../http/responses.ts";
import type { UiRequest } from "../context.ts";
import { html } from "../html.ts";
import { page, seeOther } from "../layout.ts";
import { paths, safeNext } from "../paths.ts";
import { SESSION_COOKIE, setCookie } from "../session.ts";
import { errorPage } from "./common.ts";

async function form(
  ui: UiRequest,
  options: { next: string; user?: string; error?: string; status?: number },
) {
  if (ui.visitor.mode !== "form") {
    const why = ui.visitor.mode === "open"
      ? "This registry has no users: everyone sees everything, no sign-in needed."
      : "Access is decided by an external token server; this page cannot sign you in.";
    return errorPage(ui, 404, "No sign-in here", why);
  }
  return page(ui, {
    title: "Sign in",
    status: options.status,
    body: html`
      <h1>Sign in</h1>
            ${options.error ? html`<p class="card error" role="alert">${options.error}</p>` : null}
            <form class="card login" method="post" action="${paths.login()}">
        <input type="hidden" name="csrf" value="${await ui.visitor.csrf()}">
        <input type="hidden" name="next" value="${options.next}">
        <label for="username">User name</label>
        <input id="username" name="username" type="text" autocomplete="username" required
          value="${options.user ?? ""}" autofocus>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        <p class="hint">The same user name and password as <code>docker login ${ui.host}</code>.</p>
      </form>
    `,
  });
}

/** `GET /ui/login`. */
export function loginPage(ui: UiRequest): Promise<Response> {
  return form(ui, { next: safeNext(ui.ctx.url.searchParams.get("next")) });
}

/** `POST /ui/login`. */
export async function loginAction(ui: UiRequest): Promise<Response> {
  const body = new URLSearchParams(
    new TextDecoder().decode(await readBounded(ui.ctx.request, 16 * 1024, "form", "SIZE_INVALID")),
  );
  const next = safeNext(body.get("next"));
  if (ui.visitor.mode !== "form") return form(ui, { next });
  if (!await ui.deps.auth.checkCsrf(ui.ctx.request, body.get("csrf"))) {
    return form(ui, { next, status: 403, error: "The form expired; please sign in again." });
  }
  const user = (body.get("username") ?? "").slice(0, 256);
  const { throttle, logger } = ui.deps;
  try {
    throttle.check(ui.ctx.client);
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    return form(ui, {
      next,
      user,
      status: 429,
      error: "Too many failed sign-ins from here; wait a minute and try again.",
    });
  }
  const session = await ui.deps.auth.signIn(user, body.get("password") ?? "");
  if (session === null) {
    throttle.fail(ui.ctx.client);
    logger.warn("login failed", {
      user: ui.deps.auth.loggable(user),
      client: ui.ctx.client,
      scheme: "ui",
    });
    return form(ui, { next, user, status: 401, error: "Invalid user name or password." });
  }
  logger.info("signed in", {
    user: ui.deps.auth.loggable(user),
    client: ui.ctx.client,
    scheme: "ui",
  });
  return seeOther(ui, next, [
    setCookie(SESSION_COOKIE, session, { maxAgeMs: ui.deps.auth.sessionTtlMs, secure: ui.secure }),
  ]);
}

/** `POST /ui/logout`. */
export async function logoutAction(ui: UiRequest): Promise<Response> {
  const body = new URLSearchParams(
    new TextDecoder().decode(await readBounded(ui.ctx.request, 16 * 1024, "form", "SIZE_INVALID")),
  );
  if (!await ui.deps.auth.checkCsrf(ui.ctx.request, body.get("csrf"))) {
    return errorPage(
      ui,
      403,
      "Form expired",
      "The form was not sent from this page; reload it and try again.",
    );
  }
  return seeOther(ui, paths.home(), [
    setCookie(SESSION_COOKIE, "", { maxAgeMs: 0, secure: ui.secure }),
  ]);
}
