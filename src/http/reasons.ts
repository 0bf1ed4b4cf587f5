/**
 * @module
 * Reason phrases of the HTTP statuses Berth sends or is answered with.
 */

/** RFC 9110's reason phrases, for status lines. */
export const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  414: "URI Too Long",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** Where Go's `http.StatusText` (which distribution's metric labels use) says it otherwise. */
const GO_SPELLING: Readonly<Record<number, string>> = {
  413: "Request Entity Too Large",
  414: "Request URI Too Long",
  416: "Requested Range Not Satisfiable",
};

/** `status` as Go's `http.StatusText` gives it ("" when unknown here). */
export function goStatusText(status: number): string {
  return GO_SPELLING[status] ?? REASONS[status] ?? "";
}
