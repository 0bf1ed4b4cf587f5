/**
 * @module
 * Request bodies of one delivery: distribution's envelope (`{"events": [...]}`, media
 * type `application/vnd.docker.distribution.events.v2+json`), or with
 * `format: cloudevents` a CloudEvents 1.0 batch in structured JSON
 * (`application/cloudevents-batch+json`: a list of events, each with `specversion`,
 * `id`, `source`, `type`, `time`, `subject`, `datacontenttype` and distribution's event
 * as its `data`).
 *
 * CloudEvents attributes: `type` is `berth.registry.<action>`; `source` is the
 * registry's URL (`http.host`, or the host the client addressed), or
 * `urn:berth:<instance id>` for changes no request made; `subject` is the repository
 * with `:<tag>` or `@<digest>`; `id` is the event's id, the same in both formats.
 */
import { EVENTS_MEDIA_TYPE, type NotificationEvent } from "./event.ts";

/** The media type of a CloudEvents batch in structured JSON. */
export const CLOUDEVENTS_BATCH_MEDIA_TYPE = "application/cloudevents-batch+json";

/** A body and its `Content-Type`. */
export interface Body {
  text: string;
  contentType: string;
}

/** The body carrying `events` in `format`. */
export function encodeBody(
  events: readonly NotificationEvent[],
  format: "distribution" | "cloudevents",
): Body {
  if (format === "cloudevents") {
    return {
      text: JSON.stringify(events.map(toCloudEvent)),
      contentType: CLOUDEVENTS_BATCH_MEDIA_TYPE,
    };
  }
  return { text: JSON.stringify({ events }), contentType: EVENTS_MEDIA_TYPE };
}

/** One event as a structured CloudEvent. */
export function toCloudEvent(event: NotificationEvent): Record<string, unknown> {
  const { target } = event;
  const origin = target.url
    ? new URL(target.url).origin
    : event.request.host
    ? `http://${event.request.host}`
    : `urn:berth:${event.source.instanceID ?? "registry"}`;
  const subject = target.tag
    ? `${target.repository}:${target.tag}`
    : target.digest
    ? `${target.repository}@${target.digest}`
    : target.repository;
  return {
    specversion: "1.0",
    id: event.id,
    source: origin,
    type: `berth.registry.${event.action}`,
    time: event.timestamp,
    subject,
    datacontenttype: "application/json",
    data: event,
  };
}
