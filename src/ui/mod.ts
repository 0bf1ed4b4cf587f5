/**
 * @module
 * The web UI as a capability: server-rendered pages of what the registry holds, at `/`
 * for browsers and under `/ui/` (see `paths.ts` for the map), on unless
 * `berth.ui.enabled: false`. Pages read only through the registry facade and the access
 * policy; the API is the same with or without them.
 *
 * ```
 * mod.ts        this factory            routes.ts   the routes, HTML error pages
 * context.ts    one request's view      visitor.ts  who is looking, what they may see
 * session.ts    session cookies, CSRF   inspect.ts  manifests and configs for display
 * summaries.ts  short-lived counts      layout.ts   the page shell and responses
 * html.ts       escaping templates      format.ts   sizes, times, names
 * assets.ts     stylesheet and script (assets/), named by content hash
 * pages/        one module per page
 * ```
 */
import { Throttle } from "../auth/throttle.ts";
import type { CapabilityFactory } from "../capability.ts";
import { Inspector } from "./inspect.ts";
import { uiRoutes } from "./routes.ts";
import { Sessions, uiSecret } from "./session.ts";
import { SummaryCache } from "./summaries.ts";
import { UiAuth } from "./visitor.ts";

/** The UI capability; null when `berth.ui.enabled` is false. */
export const uiCapability: CapabilityFactory = async ({ config, logger, drivers }) => {
  const settings = config.berth.ui;
  if (!settings.enabled) return null;
  const sessions = new Sessions(
    uiSecret(config.http.secret, () => drivers.metadata),
    settings.sessionttl,
  );
  const auth = await UiAuth.create(config.auth, sessions);
  return {
    name: "ui",
    routes: uiRoutes({
      auth,
      throttle: new Throttle(),
      logger,
      summaries: new SummaryCache(),
      inspector: new Inspector(),
    }),
  };
};
