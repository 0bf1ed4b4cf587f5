/**
 * @module
 * Which events an endpoint receives: distribution's `ignoredmediatypes`,
 * `ignore.mediatypes` and `ignore.actions` (an event matching either is not sent), and
 * Berth's `repositories` globs (only events of matching repositories are sent). Events
 * are filtered when they are recorded, so what an endpoint ignores is never stored for
 * it.
 */
import { compileGlob } from "../auth/glob.ts";
import type { EndpointConfig, NotificationAction } from "../config/notifications.ts";
import type { NotificationEvent } from "./event.ts";

/** The filter of one endpoint. */
export class EndpointFilter {
  readonly #mediaTypes: ReadonlySet<string>;
  readonly #actions: ReadonlySet<NotificationAction>;
  readonly #repositories: RegExp[] | null;

  constructor(
    endpoint: Pick<EndpointConfig, "ignoredMediaTypes" | "ignoredActions" | "repositories">,
  ) {
    this.#mediaTypes = new Set(endpoint.ignoredMediaTypes);
    this.#actions = new Set(endpoint.ignoredActions);
    this.#repositories = endpoint.repositories?.map(compileGlob) ?? null;
  }

  /** True when the endpoint takes events of `action` at all (pulls are buffered only then). */
  takes(action: NotificationAction): boolean {
    return !this.#actions.has(action);
  }

  /** True when `event` is to be sent to the endpoint. */
  accepts(event: NotificationEvent): boolean {
    if (this.#actions.has(event.action)) return false;
    const type = event.target.mediaType;
    if (type !== undefined && this.#mediaTypes.has(type)) return false;
    return this.#repositories === null ||
      this.#repositories.some((re) => re.test(event.target.repository));
  }
}
