/**
 * @module
 * The content-addressable blob store and the repository links that expose it. Bytes
 * live once under their digest; a repository "has" a blob only through a link record,
 * and only while its bytes are whole: where the driver can check that cheaply (a local
 * `stat`), a blob whose bytes are missing or cut short is reported absent, so clients
 * upload it again and the verified re-push repairs it. How writers and garbage
 * collection share the blob record is in `blob_states.ts`.
 */
import { type BlobDriver, type ByteRange, DriverNotFoundError } from "../../drivers/blob/types.ts";
import type { Check, MetadataStore, Mutation, Versioned } from "../../drivers/metadata/types.ts";
import { RegistryError } from "../errors.ts";
import type { Digest } from "../oci/digest.ts";
import { retryCommit } from "./atomic.ts";
import type { EventInput, Events } from "./events.ts";
import { blobKey, meta } from "./keys.ts";
import type { BlobRecord } from "./records.ts";
import type { BlobInfo, BlobService, ReadOptions } from "./repository.ts";
import {
  CLAIM_MS,
  type Held,
  type Holder,
  type HoldOptions,
  isLive,
  liveRecord,
  otherClaims,
  sameRecord,
} from "./blob_states.ts";

/** A blob as the store knows it: the facade's view plus where its bytes are. */
export interface StoredBlob extends BlobInfo {
  /** Driver key when not the canonical one. */
  key?: string;
}

/** Attempts of {@linkcode BlobStore.hold} before it gives up on a contended record. */
const HOLD_ATTEMPTS = 20;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registry-wide blob bytes and records, shared by every repository. */
export class BlobStore {
  constructor(readonly driver: BlobDriver, readonly store: MetadataStore) {}

  /** The driver key a blob's bytes live under. */
  keyOf(blob: { digest: Digest; key?: string }): string {
    return blob.key ?? blobKey(blob.digest);
  }

  /**
   * The blob record with its version, after any collector deleting the digest's bytes
   * is done (it holds the record for milliseconds; one that died runs out).
   */
  async settled(digest: string): Promise<Versioned<BlobRecord> | null> {
    for (;;) {
      const current = await this.store.get<BlobRecord>(meta.blob(digest));
      const until = current?.value.deleting;
      if (until === undefined || until <= Date.now()) return current;
      await pause(10 + Math.random() * 40);
    }
  }

  /**
   * Makes sure whole bytes of `digest` are in place under a record a commit can check,
   * and says what that commit checks and writes: the live record when whole bytes of
   * `size` are already stored (`write` is not called), or else this holder's claim,
   * committed before `write` puts its bytes in place (so the collector cannot delete
   * them before they are recorded). Call again after a failed commit: it reads afresh,
   * and never writes twice unless `rewrite` allows it. Throws `DriverNotFoundError`
   * when bytes that cannot be written again were lost meanwhile.
   */
  async hold(
    digest: Digest,
    size: number,
    holder: Holder,
    write: () => Promise<string>,
    options: HoldOptions,
  ): Promise<Held> {
    const key = meta.blob(digest.value);
    for (let attempt = 0; attempt < HOLD_ATTEMPTS; attempt++) {
      const current = await this.settled(digest.value);
      const record = current?.value;
      const now = Date.now();
      if (
        record && isLive(record) && record.size === size &&
        await this.whole({ digest, size, key: record.key }, true)
      ) {
        const value = liveRecord(
          size,
          record.key,
          record.created ?? now,
          otherClaims(record, holder.id),
        );
        return {
          check: { key, version: current!.version },
          value,
          unchanged: sameRecord(record, value),
        };
      }
      const claims = otherClaims(record, holder.id, now);
      const created = record?.created ?? now;
      if ((record?.claims?.[holder.id] ?? 0) > now && holder.key !== null) {
        // Still our claim, and our bytes are in place.
        return {
          check: { key, version: current!.version },
          value: liveRecord(size, this.#own(digest, holder.key), created, claims),
        };
      }
      const claim: BlobRecord = { size, pending: true, created, claims: { ...claims } };
      claim.claims![holder.id] = now + CLAIM_MS;
      const version = await this.store.commit([{ key, version: current?.version ?? null }], [
        { type: "set", key, value: claim },
        ...options.claimAlso ?? [],
      ]);
      if (version === null) {
        // Another writer claimed first: back off a little, with jitter, and read again.
        await pause(Math.random() * Math.min(2 ** attempt, 32));
        continue;
      }
      holder.claimed = version;
      if (holder.key === null || options.rewrite) {
        holder.key = await write();
      } else if (!await this.whole({ digest, size, key: holder.key }, true)) {
        throw new DriverNotFoundError(`The bytes of ${digest.value} were lost before recording`);
      }
      return {
        check: { key, version },
        value: liveRecord(size, this.#own(digest, holder.key), created, claims),
      };
    }
    throw new RegistryError("UNAVAILABLE", `Too much contention on blob ${digest.value}`, {
      retryAfter: 1,
    });
  }

  /** Withdraws `holder`'s claim after a failure (best effort; a claim also runs out). */
  async release(digest: Digest, holder: Holder): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.store.get<BlobRecord>(meta.blob(digest.value));
      if (!current?.value.claims?.[holder.id]) return;
      const claims = otherClaims(current.value, holder.id);
      const { claims: _, ...rest } = current.value;
      const mutation: Mutation = current.value.pending && !claims
        ? { type: "delete", key: current.key }
        : { type: "set", key: current.key, value: claims ? { ...rest, claims } : rest };
      if (await this.store.commit([{ key: current.key, version: current.version }], [mutation])) {
        return;
      }
    }
  }

  /** The `key` field of a record of bytes at `key`: absent when it is the canonical one. */
  #own(digest: Digest, key: string): string | undefined {
    return key === blobKey(digest) ? undefined : key;
  }

  /**
   * True when the bytes of `blob` are stored and of its size. Where `stat` is not cheap
   * (object stores) the answer is true unless `force` asks the backend.
   */
  async whole(blob: { digest: Digest; size: number; key?: string }, force = false) {
    if (!this.driver.cheapStat && !force) return true;
    const stat = await this.driver.stat(this.keyOf(blob));
    return stat !== null && stat.size === blob.size;
  }

  /**
   * The blob as `repo` sees it: linked (as a layer or a manifest) and, unless `verify` is
   * false (the bytes are about to be read, and `open` checks their size), whole.
   */
  async stat(repo: string, digest: Digest, verify = true): Promise<StoredBlob | null> {
    const [layer, manifest] = await this.store.getMany<BlobRecord>([
      meta.layer(repo, digest.value),
      meta.manifest(repo, digest.value),
    ]);
    const link = layer ?? manifest;
    if (!link) return null;
    const blob: StoredBlob = { digest, size: link.value.size, key: link.value.key };
    return !verify || await this.whole(blob) ? blob : null;
  }

  /** Streams a blob's bytes (or one range); `BLOB_UNKNOWN` if they are gone or cut short. */
  async open(blob: StoredBlob, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.driver.read(this.keyOf(blob), range, { size: blob.size });
    if (!stream) {
      throw new RegistryError(
        "BLOB_UNKNOWN",
        `The bytes of blob ${blob.digest.value} are missing; push it again`,
        { detail: { digest: blob.digest.value } },
      );
    }
    return stream;
  }

  /**
   * The mutation a commit relying on `held` makes to the digest's record: the live
   * record, or, when it stays as it is, a bump of `["blob-linked", digest]` (see
   * `blob_states.ts`).
   */
  recordMutation(digest: string, held: Held, now: number): Mutation {
    return held.unchanged ? { type: "set", key: meta.blobLinked(digest), value: { at: now } } : {
      type: "set",
      key: meta.blob(digest),
      value: { ...held.value, created: held.value.created ?? now },
    };
  }

  /**
   * Mutations that record verified bytes (`held`, as {@linkcode hold} returns it) and
   * link them into `repo`.
   */
  linkMutations(repo: string, digest: string, held: Held, now: number): Mutation[] {
    const record = held.value;
    const link: BlobRecord = record.key
      ? { size: record.size, key: record.key, created: now }
      : { size: record.size, created: now };
    const mutations: Mutation[] = [
      this.recordMutation(digest, held, now),
      { type: "set", key: meta.layer(repo, digest), value: link },
      { type: "set", key: meta.linked(digest, repo), value: {} },
      { type: "set", key: meta.repo(repo), value: { created: now } },
    ];
    // Bytes at a key of their own are marked in use, so the collector's sweep of keys no
    // record names never takes them for a crash's leftovers.
    if (record.key) {
      mutations.push({ type: "set", key: meta.blobAt(record.key), value: { digest } });
    }
    return mutations;
  }

  /**
   * Links verified bytes into `repo` (after an upload was published, or for a mount),
   * committing `also` and the events' outbox mutations in the same transaction, under
   * `held.check` and `checks`. False when a check failed (read and hold again).
   */
  async link(
    repo: string,
    digest: string,
    held: Held,
    events: Events,
    inputs: readonly EventInput[],
    also: Mutation[] = [],
    checks: Check[] = [],
  ): Promise<boolean> {
    const made = events.make(inputs);
    const done = await this.store.commit([held.check, ...checks], [
      ...this.linkMutations(repo, digest, held, Date.now()),
      ...also,
      ...events.mutations(made),
    ]);
    if (done === null) return false;
    events.notify(made);
    return true;
  }

  /** Repositories that link `digest`, in name order. */
  async *linkedFrom(digest: string): AsyncIterable<string> {
    for await (const entry of this.store.list(meta.linkedAll(digest))) {
      yield entry.key[2];
    }
  }
}

/** {@linkcode BlobService} of one repository over the shared {@linkcode BlobStore}. */
export class RepositoryBlobs implements BlobService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly repo: string,
    private readonly events: Events,
  ) {}

  stat(digest: Digest, options: { verify?: boolean } = {}): Promise<StoredBlob | null> {
    return this.blobs.stat(this.repo, digest, options.verify ?? true);
  }

  async require(digest: Digest, options: { verify?: boolean } = {}): Promise<StoredBlob> {
    const info = await this.stat(digest, options);
    if (!info) throw unknownBlob(this.repo, digest);
    return info;
  }

  async open(
    blob: StoredBlob,
    range?: ByteRange,
    options: ReadOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const stream = await this.blobs.open(blob, range);
    if (!options.quiet) {
      this.events.pulled({ type: "blob.pulled", digest: blob.digest.value, size: blob.size });
    }
    return stream;
  }

  async redirectUrl(blob: StoredBlob, ttlSeconds: number): Promise<string | null> {
    const { driver } = this.blobs;
    if (!driver.signedUrl) return null;
    const url = await driver.signedUrl(this.blobs.keyOf(blob), ttlSeconds);
    this.events.pulled({ type: "blob.pulled", digest: blob.digest.value, size: blob.size });
    return url;
  }

  async delete(digest: Digest): Promise<void> {
    const { store } = this.blobs;
    await retryCommit(`blob ${digest.value} of ${this.repo}`, async () => {
      const link = await store.get(meta.layer(this.repo, digest.value));
      if (!link) throw unknownBlob(this.repo, digest);
      const made = this.events.make([{ type: "blob.deleted", digest: digest.value }]);
      const done = await store.commit([{ key: link.key, version: link.version }], [
        { type: "delete", key: meta.layer(this.repo, digest.value) },
        { type: "delete", key: meta.linked(digest.value, this.repo) },
        ...this.events.mutations(made),
      ]);
      if (done !== null) this.events.notify(made);
      return done;
    });
  }

  async mount(
    digest: Digest,
    from: string | null,
    canRead: (repo: string) => Promise<boolean>,
  ): Promise<StoredBlob | null> {
    let source: StoredBlob | null = null;
    let sourceRepo = from;
    if (from !== null) {
      if (await canRead(from)) source = await this.blobs.stat(from, digest);
    } else {
      for await (const candidate of this.blobs.linkedFrom(digest.value)) {
        if (candidate !== this.repo && await canRead(candidate)) {
          source = await this.blobs.stat(candidate, digest);
          sourceRepo = candidate;
          if (source) break;
        }
      }
    }
    if (!source || sourceRepo === null) return null;
    const origin = sourceRepo;
    // The link checks the blob record it relies on: a collector deleting the bytes
    // meanwhile makes it fail, and a record that is not live cannot be mounted.
    return await retryCommit(`mount of ${digest.value} into ${this.repo}`, async () => {
      const current = await this.blobs.settled(digest.value);
      const record = current?.value;
      if (!current || !record || !isLive(record)) return false;
      const blob: StoredBlob = { digest, size: record.size, key: record.key };
      if (!await this.blobs.whole(blob)) return false;
      const value = liveRecord(
        record.size,
        record.key,
        record.created ?? Date.now(),
        otherClaims(record, null),
      );
      const held: Held = {
        check: { key: current.key, version: current.version },
        value,
        unchanged: sameRecord(record, value),
      };
      const inputs: EventInput[] = [
        { type: "blob.mounted", digest: digest.value, size: record.size, from: origin },
      ];
      return await this.blobs.link(this.repo, digest.value, held, this.events, inputs)
        ? blob
        : null;
    }) || null;
  }
}

/** `BLOB_UNKNOWN` for `digest` in `repo`. */
export function unknownBlob(repo: string, digest: Digest): RegistryError {
  return new RegistryError("BLOB_UNKNOWN", `Blob ${digest.value} is unknown to ${repo}`, {
    detail: { digest: digest.value },
  });
}
