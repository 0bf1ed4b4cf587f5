/**
 * @module
 * Single-flight copies of blobs from upstreams, across a fleet. Concurrent requests for
 * the same missing blob of a mirror cause one upstream fetch:
 *
 * - in this process, they read the same {@linkcode Fill} as it arrives;
 * - across the fleet, the instance that copies holds a lease in the metadata store
 *   (`["lease", "mirror-fill/<mirror>/<digest>"]`, renewed while it copies, taken over at
 *   once when its holder's heartbeat stops); requests on the other instances wait for the
 *   blob to be stored and stream it from the store. If the copy fails, the next request
 *   tries again.
 *
 * The response for a blob copied here starts at once; a request that waits for another
 * instance gets its headers at once and its bytes when they are stored.
 */
import type { ByteRange } from "../../drivers/blob/types.ts";
import type { Digest } from "../oci/digest.ts";
import type { HeldLease, Leases } from "../jobs/lease.ts";
import type { Logger } from "../log.ts";
import { meta } from "../registry/keys.ts";
import { Fill, type FillSink } from "./fill.ts";
import { recycleBlobChunk } from "./upstream.ts";

/** How often a lease of a running copy is renewed. */
const RENEW_MS = 5_000;
/** Longest pause between two looks at a copy running on another instance. */
const MAX_POLL_MS = 500;

/** A blob to copy, and what to do with it. */
export interface FillRequest extends FillSink {
  /** The mirror (its prefix), so different upstreams never share a copy. */
  mirror: string;
  /** The local repository asking. */
  repository: string;
  digest: string;
  /** The digest, parsed. */
  blob: Digest;
  size: number;
  /** Starts the upstream's GET; its body, or a `RegistryError` (BLOB_UNKNOWN, UNAVAILABLE). */
  fetch(): Promise<ReadableStream<Uint8Array>>;
  /** True when the repository links the blob (linking bytes the store has, if it may). */
  linked(): Promise<boolean>;
  /** Once the blob is stored: links it into the repository and records the pull. */
  stored(): Promise<void>;
}

type Attempt = { kind: "fill"; fill: Fill } | { kind: "linked" } | { kind: "remote" };

/** The copies of this process. */
export class Fills {
  readonly #active = new Map<string, Promise<Attempt>>();
  readonly #running = new Set<Fill>();
  /** Repositories each copy links once it is stored (one `stored` call per repository). */
  readonly #linking = new WeakMap<Fill, Set<string>>();
  readonly #leases: () => Leases;
  readonly #logger: Logger;
  #closed = false;

  /** `leases` is read when first needed (the metadata store may still be wrapped). */
  constructor(leases: () => Leases, logger: Logger) {
    this.#leases = leases;
    this.#logger = logger;
  }

  /** The blob (or `range` of it) for one request: copied now, followed, or waited for. */
  async open(request: FillRequest, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const attempt = await this.#attempt(request);
    if (attempt.kind === "fill") return this.#follow(attempt.fill, request, range);
    if (attempt.kind === "linked") return request.openStored(range ?? { start: 0 });
    return lazy(() => this.#wait(request, range));
  }

  /** Aborts every running copy (shutdown); nothing partial is stored. */
  close(): void {
    this.#closed = true;
    for (const fill of this.#running) fill.abort(new Error("The registry is shutting down"));
  }

  /** Joins this process's copy, or starts one when this instance gets the lease. */
  #attempt(request: FillRequest): Promise<Attempt> {
    const key = `${request.mirror}\n${request.digest}`;
    const current = this.#active.get(key);
    if (current) return current;
    const attempt = this.#lead(request);
    this.#active.set(key, attempt);
    const forget = () => {
      if (this.#active.get(key) === attempt) this.#active.delete(key);
    };
    attempt.then((a) => a.kind === "fill" ? a.fill.done.finally(forget) : forget(), forget)
      .catch(() => {});
    return attempt;
  }

  async #lead(request: FillRequest): Promise<Attempt> {
    if (await request.linked()) return { kind: "linked" };
    if (this.#closed) throw new Error("The registry is shutting down");
    const lease = await this.#leases().acquire(
      meta.mirrorFillLease(request.mirror || "proxy", request.digest),
    );
    if (!lease) return { kind: "remote" };
    try {
      // A copy may have ended between the first look and the lease.
      if (await request.linked()) {
        await lease.release();
        return { kind: "linked" };
      }
      const body = await request.fetch();
      const fill = new Fill(request.blob, request.size, body, request, recycleBlobChunk);
      this.#hold(fill, lease, request);
      return { kind: "fill", fill };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /** Keeps the lease while `fill` runs, and gives it back when it ends. */
  #hold(fill: Fill, lease: HeldLease, request: FillRequest): void {
    this.#running.add(fill);
    const timer = setInterval(async () => {
      if (!await lease.renew()) {
        this.#logger.warn("mirror: lost the lease of a blob being copied", {
          digest: request.digest,
        });
      }
    }, RENEW_MS);
    Deno.unrefTimer(timer);
    fill.done.catch((err) => {
      this.#logger.warn("mirror: copying a blob from the upstream failed; nothing was stored", {
        mirror: request.mirror,
        digest: request.digest,
        error: err,
      });
    }).finally(async () => {
      clearInterval(timer);
      this.#running.delete(fill);
      await lease.release();
    });
  }

  /** A reader of `fill` for `request`'s repository (linked there once the blob is stored). */
  #follow(fill: Fill, request: FillRequest, range?: ByteRange): ReadableStream<Uint8Array> {
    let repositories = this.#linking.get(fill);
    if (!repositories) this.#linking.set(fill, repositories = new Set());
    if (repositories.has(request.repository)) return fill.read(range, request);
    repositories.add(request.repository);
    fill.done.then(
      () =>
        request.stored().catch((err) => {
          this.#logger.warn("mirror: linking a copied blob failed", {
            digest: request.digest,
            error: err,
          });
        }),
      () => {}, // the copy's own failure is logged once, by its holder
    );
    return fill.read(range, request);
  }

  /** Waits for another instance's copy; copies itself if that one ends without the blob. */
  async #wait(request: FillRequest, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    let delay = 25;
    while (true) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.#closed) throw new Error("The registry is shutting down");
      delay = Math.min(delay * 2, MAX_POLL_MS);
      const attempt = await this.#attempt(request);
      if (attempt.kind === "fill") return this.#follow(attempt.fill, request, range);
      if (attempt.kind === "linked") return request.openStored(range ?? { start: 0 });
    }
  }
}

/** A stream whose source is made when it is first read. */
function lazy(open: () => Promise<ReadableStream<Uint8Array>>): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!reader) {
        const source = await open();
        if (cancelled) {
          await source.cancel();
          return;
        }
        reader = source.getReader();
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      cancelled = true;
      await reader?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
