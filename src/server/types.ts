/**
 * @module
 * The shape every public listener has (a leaf module: the listeners and the serving layer
 * import it, it imports nothing).
 */

/** A listening server. */
export interface Listener {
  readonly addr: Deno.NetAddr;
  readonly scheme: "http" | "https";
  /** Which implementation serves: Berth's HTTP/1.1 listener, `Deno.serve`, or `node:http2`. */
  readonly kind: "berth" | "deno" | "node";
  /**
   * Stops accepting connections, closes idle ones and resolves once every response has
   * been sent. Request bodies still being read may be cut: wait for handlers first.
   */
  shutdown(): Promise<void>;
  /** Closes every connection now. */
  abort(): void;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
}
