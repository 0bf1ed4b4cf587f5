/**
 * @module
 * `?ns=<host>`: containerd (hosts.toml mirrors) and podman tell a mirror which registry
 * the client meant, and send the repository path as that registry knows it
 * (`/v2/library/alpine/manifests/latest?ns=docker.io`). This step runs before the router:
 * a namespace that is a mirror's prefix becomes the front of the path
 * (`/v2/docker.io/library/alpine/...`), so routing, access control and the repository
 * facade see the mirrored name like any other; `proxy:`'s single mirror answers to its
 * upstream's host as it is. A namespace naming this registry itself serves the hosted
 * repositories. Any other namespace is 404 `NAME_UNKNOWN`: never a request to a host
 * nobody configured, never local content by accident. Answers carry `OCI-Namespace`.
 */
import { RegistryError } from "../errors.ts";
import type { Middleware } from "../http/middleware/chain.ts";
import { renderError } from "../http/render_error.ts";
import type { Logger } from "../log.ts";
import type { MirrorSet } from "./mirrors.ts";

/** The `?ns=` step; `ownHost` is `http.host`'s host, if configured. */
export function namespaces(mirrors: MirrorSet, logger: Logger, ownHost?: string): Middleware {
  return async (state, next) => {
    const { url } = state;
    if (!url.search.includes("ns=")) return next();
    const ns = url.searchParams.get("ns");
    const rest = /^\/v2\/(?!_catalog$)(.+)$/.exec(url.pathname)?.[1];
    if (ns === null || rest === undefined) return next();
    const host = ns.toLowerCase();
    const self = host === ownHost?.toLowerCase() ||
      host === state.request.headers.get("host")?.toLowerCase();
    if (!self) {
      const mirror = mirrors.forNamespace(host);
      if (!mirror) {
        const err = new RegistryError(
          "NAME_UNKNOWN",
          `No mirror serves the namespace "${ns.slice(0, 255)}"`,
          { detail: { namespace: ns.slice(0, 255) } },
        );
        return renderError(err, state.request, logger, state.requestId);
      }
      if (mirror.prefix !== "") url.pathname = `/v2/${mirror.prefix}/${rest}`;
    }
    let response = await next();
    try {
      response.headers.set("OCI-Namespace", ns);
    } catch {
      // Immutable headers (a response passed through from elsewhere): copy them.
      response = new Response(response.body, response);
      response.headers.set("OCI-Namespace", ns);
    }
    return response;
  };
}
