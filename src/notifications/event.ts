/**
 * @module
 * Berth's typed events as distribution's notification events: the same `action`s (push,
 * pull, mount, delete) and the same fields (`id`, `timestamp`, `target`, `request`,
 * `actor`, `source`), with the same fields left out where distribution leaves them out
 * (a delete's target is the digest or the tag, and the repository).
 *
 * One Berth event may be several notification events: a manifest pushed with two tags
 * is one push per tag, as distribution sends one per `PUT`. The first keeps the Berth
 * event's id, the others get ids derived from it and the tag, so every id is stable.
 * Tag moves are not events of their own (the manifest push names the tag).
 */
import { createHash } from "node:crypto";
import type { NotificationAction } from "../config/notifications.ts";
import type { RegistryEvent } from "../registry/events.ts";

/** The media type of distribution's envelope, sent as the request's `Content-Type`. */
export const EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json";

/** The media type distribution gives blob targets. */
export const BLOB_MEDIA_TYPE = "application/octet-stream";

/** A content descriptor, as `target.references` lists them. */
export interface NotificationDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** One event as distribution sends it. */
export interface NotificationEvent {
  id: string;
  /** RFC 3339 with milliseconds, UTC. */
  timestamp: string;
  action: NotificationAction;
  target: {
    mediaType?: string;
    digest?: string;
    size?: number;
    /** The same as `size` (distribution keeps it for old receivers). */
    length?: number;
    repository: string;
    fromRepository?: string;
    url?: string;
    tag?: string;
    references?: NotificationDescriptor[];
  };
  request: { id: string; addr?: string; host?: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr?: string; instanceID?: string };
}

/** Where events come from: the registry's address and this process. */
export interface EventOrigin {
  /** `http.host`; without it, URLs name the host the client addressed (over http). */
  baseUrl?: string;
  /** `source`: this instance's `host:port` and its instance id. */
  source: { addr?: string; instanceID?: string };
}

/** The notification events of one registry event (none for a tag move). */
export function toNotificationEvents(
  event: RegistryEvent,
  origin: EventOrigin,
): NotificationEvent[] {
  const { context, repository } = event;
  const base = origin.baseUrl ?? (context.host ? `http://${clip(context.host)}` : undefined);
  const url = (kind: "blobs" | "manifests", digest: string) =>
    base ? { url: `${base}/v2/${repository}/${kind}/${digest}` } : {};
  const make = (
    action: NotificationAction,
    target: NotificationEvent["target"],
    id = event.id,
  ): NotificationEvent => ({
    id,
    timestamp: new Date(event.at).toISOString(),
    action,
    target,
    request: {
      id: context.requestId,
      ...(context.addr ? { addr: context.addr } : {}),
      ...(context.host ? { host: clip(context.host) } : {}),
      method: context.method,
      useragent: clip(context.userAgent),
    },
    actor: context.actor ? { name: context.actor } : {},
    source: origin.source,
  });
  const content = (mediaType: string, digest: string, size: number) => ({
    mediaType,
    digest,
    size,
    length: size,
    repository,
  });
  switch (event.type) {
    case "blob.pushed":
    case "blob.pulled":
      return [make(event.type === "blob.pushed" ? "push" : "pull", {
        ...content(BLOB_MEDIA_TYPE, event.digest, event.size),
        ...url("blobs", event.digest),
      })];
    case "blob.mounted":
      return [make("mount", {
        ...content(BLOB_MEDIA_TYPE, event.digest, event.size),
        fromRepository: event.from,
        ...url("blobs", event.digest),
      })];
    case "blob.deleted":
    case "manifest.deleted":
      return [make("delete", { digest: event.digest, repository })];
    case "tag.deleted":
      return [make("delete", { repository, tag: event.tag })];
    case "manifest.pulled":
      return [make("pull", {
        ...content(event.mediaType, event.digest, event.size),
        ...url("manifests", event.digest),
        ...(event.tag ? { tag: event.tag } : {}),
      })];
    case "manifest.pushed": {
      const target = {
        ...content(event.mediaType, event.digest, event.size),
        ...url("manifests", event.digest),
      };
      return event.tags.length ? perTag(make("push", target), event.tags) : [make("push", target)];
    }
    case "tag.moved":
      return [];
  }
}

/**
 * One push of `first` per tag: the first keeps its id, the others get ids derived from it
 * and their tag.
 */
export function perTag(first: NotificationEvent, tags: readonly string[]): NotificationEvent[] {
  return tags.map((tag, i) => ({
    ...first,
    id: i === 0 ? first.id : derivedId(first.id, tag),
    target: { ...first.target, tag },
  }));
}

/**
 * Headers a client chooses, cut to a length that keeps every event small: each is queued
 * in the commit of its change, once per endpoint.
 */
function clip(text: string): string {
  return text.length > 256 ? text.slice(0, 256) : text;
}

/** A UUID-shaped id derived from `id` and `tag` (stable: the same inputs, the same id). */
function derivedId(id: string, tag: string): string {
  const hex = createHash("sha256").update(`${id}\0${tag}`).digest("hex");
  // Version 8 ("custom") and the RFC 9562 variant, so it reads as a well-formed UUID.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${
    hex.slice(17, 20)
  }-${hex.slice(20, 32)}`;
}
