/**
 * @module
 * The kinds of health checks distribution's `health:` section names, each a probe that
 * throws when the thing it watches is unhealthy: the storage driver answering, a file
 * that must not exist, an HTTP endpoint answering the expected status to a HEAD, a TCP
 * port accepting connections.
 */
import type { FileCheck, HttpCheck, TcpCheck } from "../config/health.ts";
import type { Drivers } from "../capability.ts";

/** Throws when unhealthy. */
export type Probe = () => Promise<void>;

/** The blob driver answers (`health()`: a cheap request to the backend). */
export function storageProbe(drivers: Drivers): Probe {
  // Read when run: driver wrappers replace `drivers.blobs` after the factories ran.
  return () => drivers.blobs.health();
}

/** Fails while `check.file` exists (distribution's way to take an instance out by hand). */
export function fileProbe(check: FileCheck): Probe {
  return async () => {
    try {
      await Deno.stat(check.file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    throw new Error("file exists");
  };
}

/** A HEAD request to `check.uri` answers `check.statuscode` within `check.timeout`. */
export function httpProbe(check: HttpCheck): Probe {
  const headers = new Headers();
  for (const [name, values] of Object.entries(check.headers)) {
    for (const value of values) headers.append(name, value);
  }
  return async () => {
    let response: Response;
    try {
      response = await fetch(check.uri, {
        method: "HEAD",
        headers,
        signal: AbortSignal.timeout(check.timeout),
      });
    } catch (err) {
      throw new Error(`${check.uri}: error while checking: ${(err as Error).message}`);
    }
    await response.body?.cancel();
    if (response.status !== check.statuscode) {
      throw new Error(
        `${check.uri}: downstream service returned unexpected status: ${response.status}`,
      );
    }
  };
}

/** A TCP connection to `check.addr` opens within `check.timeout`. */
export function tcpProbe(check: TcpCheck): Probe {
  return async () => {
    const connecting = Deno.connect({ hostname: check.hostname, port: check.port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), check.timeout);
    });
    try {
      const conn = await Promise.race([connecting, timeout]);
      conn.close();
    } catch (err) {
      // A connection that opens after the timeout is closed when it does.
      connecting.then((c) => c.close(), () => {});
      throw new Error(`${check.addr}: connection failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  };
}
