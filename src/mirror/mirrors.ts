/**
 * @module
 * The configured mirrors and how a request finds its mirror: by repository name (a name
 * under a mirror's prefix is mirrored; `proxy:` mirrors every name) or by the `?ns=`
 * namespace containerd and podman send to a mirror (the host the client meant).
 */
import type { MirrorConfig } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import { MirrorCounters } from "./counters.ts";
import { Upstream } from "./upstream.ts";

/** One upstream registry mirrored under a prefix. */
export class Mirror {
  readonly counters = new MirrorCounters();
  readonly upstream: Upstream;
  /** The `?ns=` values this mirror answers to. */
  readonly namespaces: readonly string[];

  constructor(readonly config: MirrorConfig, logger: Logger) {
    this.upstream = new Upstream({
      remoteurl: config.remoteurl,
      username: config.username,
      password: config.password,
      timeoutMs: config.timeout,
      logger,
      counters: this.counters,
    });
    this.namespaces = namespacesOf(config);
  }

  /** The repository prefix ("" when the mirror is the whole registry). */
  get prefix(): string {
    return this.config.prefix;
  }

  /** The upstream's name of local repository `name`, or null when it is not under the prefix. */
  pathOf(name: string): string | null {
    if (this.prefix === "") return name;
    return name.startsWith(`${this.prefix}/`) ? name.slice(this.prefix.length + 1) : null;
  }
}

/** A mirrored repository: its mirror and its name upstream. */
export interface MirroredName {
  mirror: Mirror;
  /** The repository's name upstream. */
  path: string;
}

/** Every configured mirror. */
export class MirrorSet {
  readonly mirrors: readonly Mirror[];

  constructor(configs: readonly MirrorConfig[], logger: Logger) {
    this.mirrors = configs.map((c) => new Mirror(c, logger));
  }

  /** True when the whole registry is one mirror (`proxy:`). */
  get whole(): boolean {
    return this.mirrors.length === 1 && this.mirrors[0].prefix === "";
  }

  /**
   * The mirror of repository `name`, or null for a hosted repository. A name equal to a
   * prefix is in the mirror with an empty path (it names nothing upstream).
   */
  forRepository(name: string): MirroredName | null {
    for (const mirror of this.mirrors) {
      if (name === mirror.prefix) return { mirror, path: "" };
      const path = mirror.pathOf(name);
      if (path !== null) return { mirror, path };
    }
    return null;
  }

  /** The mirror a `?ns=` names, or null. */
  forNamespace(ns: string): Mirror | null {
    const host = ns.toLowerCase();
    return this.mirrors.find((m) => m.namespaces.includes(host)) ?? null;
  }
}

/**
 * The namespaces of a mirror: its prefix when it has one; for `proxy:`, the upstream's
 * host (and `docker.io`, the name clients use, for Docker Hub's registry hosts).
 */
function namespacesOf(config: MirrorConfig): string[] {
  if (config.prefix !== "") return [config.prefix];
  const host = new URL(config.remoteurl).host.toLowerCase();
  const hub = ["registry-1.docker.io", "index.docker.io", "registry.hub.docker.com"];
  return hub.includes(host) ? [host, "docker.io"] : [host];
}
