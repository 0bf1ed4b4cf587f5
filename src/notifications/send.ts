/**
 * @module
 * One delivery attempt: a POST of one body to an endpoint, with its configured headers,
 * its `Content-Type`, a signature when the endpoint has a secret, and its timeout. As in
 * distribution, any 2xx or 3xx answer (after following redirects) means delivered;
 * anything else, no answer or no answer in time is a failure to retry. The answer's body
 * is never read.
 */
import type { EndpointConfig } from "../config/notifications.ts";
import type { Body } from "./body.ts";
import { sign, SIGNATURE_HEADER } from "./signature.ts";

/** How an attempt went. */
export interface SendResult {
  ok: boolean;
  /** The answer's status; 0 when there was none. */
  status: number;
  /** Why it failed, when it did. */
  error?: string;
}

/** POSTs `body` to `endpoint`; never throws. `signal` aborts the attempt. */
export async function send(
  endpoint: Pick<EndpointConfig, "url" | "headers" | "timeout" | "secret">,
  body: Body,
  signal: AbortSignal,
): Promise<SendResult> {
  const headers = new Headers();
  for (const [name, values] of Object.entries(endpoint.headers)) {
    for (const value of values) headers.append(name, value);
  }
  headers.set("content-type", body.contentType);
  if (!headers.has("user-agent")) headers.set("user-agent", "berth-notifications");
  if (endpoint.secret) {
    headers.set(SIGNATURE_HEADER, sign(endpoint.secret, body.text, Date.now() / 1000));
  }
  const timeout = AbortSignal.timeout(endpoint.timeout);
  try {
    const res = await fetch(endpoint.url, {
      method: "POST",
      body: body.text,
      headers,
      signal: AbortSignal.any([signal, timeout]),
    });
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 400;
    return ok ? { ok, status: res.status } : {
      ok,
      status: res.status,
      error: `answered ${res.status} ${res.statusText}`.trim(),
    };
  } catch (err) {
    const error = timeout.aborted
      ? `no answer within ${endpoint.timeout} ms`
      : signal.aborted
      ? "delivery stopped"
      : (err as Error).message;
    return { ok: false, status: 0, error };
  }
}
