/**
 * @module
 * A real webhook receiver for notification tests: an HTTP server on 127.0.0.1 that keeps
 * every request it accepts (path, headers, raw body, parsed events), answers with the
 * status each path is set to (so it can fail on demand), and can go down (nothing
 * listens on its port) and come back up on the same port.
 */

/** One request the receiver took. */
export interface Delivery {
  path: string;
  /** When it arrived (ms since the epoch). */
  at: number;
  status: number;
  headers: Headers;
  body: string;
  /** Distribution's `events`, or the CloudEvents of a batch. */
  events: Record<string, unknown>[];
}

/** A running receiver. */
export class Receiver {
  /** Every request, accepted or not, in arrival order. */
  readonly deliveries: Delivery[] = [];
  readonly #status = new Map<string, number>();
  readonly #delay = new Map<string, number>();
  #server: Deno.HttpServer | null = null;
  #port = 0;

  private constructor() {}

  /** Starts a receiver on a free port. */
  static async start(): Promise<Receiver> {
    const r = new Receiver();
    await r.up();
    return r;
  }

  /** `http://127.0.0.1:<port><path>` */
  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.#port}${path}`;
  }

  /**
   * Answers requests to `path` with `status` from now on (200 by default), after
   * `delayMs` (the request is recorded on arrival).
   */
  answer(path: string, status: number, delayMs = 0): void {
    this.#status.set(path, status);
    this.#delay.set(path, delayMs);
  }

  /** Stops listening: connections are refused until {@linkcode up}. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    await server?.shutdown();
  }

  /** Listens again (on the same port once it had one). */
  async up(): Promise<void> {
    if (this.#server) return;
    let ready!: () => void;
    const listening = new Promise<void>((r) => ready = r);
    for (let attempt = 0;; attempt++) {
      try {
        this.#server = Deno.serve(
          {
            hostname: "127.0.0.1",
            port: this.#port,
            onListen: ({ port }) => {
              this.#port = port;
              ready();
            },
          },
          (req) => this.#take(req),
        );
        break;
      } catch (err) {
        if (!(err instanceof Deno.errors.AddrInUse) || attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await listening;
  }

  /** Accepted deliveries to `path`. */
  accepted(path = "/hook"): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && d.status < 400);
  }

  /** Events of the deliveries `path` accepted, in arrival order. */
  events(path = "/hook"): Record<string, unknown>[] {
    return this.accepted(path).flatMap((d) => d.events);
  }

  /** Waits until `ready()` holds, checking every 50 ms; fails after `ms`. */
  async waitFor(ready: () => boolean, ms: number, what = "the receiver"): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the receiver. */
  close(): Promise<void> {
    return this.down();
  }

  async #take(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    const status = this.#status.get(path) ?? 200;
    let events: Record<string, unknown>[] = [];
    try {
      const parsed = JSON.parse(body);
      events = Array.isArray(parsed) ? parsed : parsed.events ?? [];
    } catch { /* kept as text */ }
    this.deliveries.push({ path, at: Date.now(), status, headers: req.headers, body, events });
    const delay = this.#delay.get(path) ?? 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    return new Response(null, { status });
  }
}

/** How often each id occurs more than once in `events`. */
export function duplicates(events: Record<string, unknown>[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const e of events) seen.set(e.id as string, (seen.get(e.id as string) ?? 0) + 1);
  return new Map([...seen].filter(([, n]) => n > 1));
}

/**
 * Writes `dir/config.yml` with one notification endpoint, `hook`, posting to `receiver`
 * (`settings` are more of the endpoint's YAML lines, such as `threshold: 2`); its path.
 */
export async function hookConfig(
  dir: string,
  receiver: Receiver,
  settings: string[] = [],
): Promise<string> {
  const config = `${dir}/config.yml`;
  const endpoint = [`url: ${receiver.url()}`, ...settings].map((line) => `      ${line}`);
  await Deno.writeTextFile(
    config,
    ["notifications:", "  endpoints:", "    - name: hook", ...endpoint, ""].join("\n"),
  );
  return config;
}
