/**
 * @module
 * The states of a blob record (`["blob", digest]`), the one place where writers of a
 * digest's bytes (uploads, manifest PUTs) and garbage collection (`src/gc/`) meet, so
 * the collector can delete bytes while pushes go on and never deletes what a committed
 * link relies on.
 *
 * - **live** (neither `pending` nor `deleting`): the bytes are whole at `key`.
 * - **claimed** (`claims` holds a writer that has not run out): a writer is about to put
 *   bytes in place (`pending` when none are there yet). The collector never deletes a
 *   claimed digest.
 * - **deleting**: a collector has won the record and is deleting the bytes. Writers wait
 *   until it is done (or has run out), then claim anew.
 *
 * Every commit that links a digest (upload, mount, manifest PUT) checks the version of the
 * blob record it read and bumps either the record (when it changes it: a claim made
 * live) or, when it keeps it as it is, `["blob-linked", digest]`, so links of the same
 * stored bytes never conflict with each other. The commit that moves a record to deleting
 * checks both versions as the collector judged them. So exactly one side wins: a link
 * that commits keeps the bytes, a collector that commits first makes the writer read
 * again.
 * Writers put bytes in place only under their own claim (`BlobStore.hold`), so nothing
 * they publish can be deleted before it is recorded.
 */
import type { Check, Mutation } from "../../drivers/metadata/types.ts";
import type { BlobRecord } from "./records.ts";

/** How long a writer's claim on a digest keeps the collector away from its bytes. */
export const CLAIM_MS = 10 * 60_000;
/** True when `record` says the bytes are in place (neither pending nor being deleted). */
export function isLive(record: BlobRecord): boolean {
  return !record.pending && record.deleting === undefined;
}

/** The claims of `record` other than `except`'s that have not run out at `now`. */
export function otherClaims(
  record: BlobRecord | undefined,
  except: string | null,
  now = Date.now(),
): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  let any = false;
  for (const [id, until] of Object.entries(record?.claims ?? {})) {
    if (id !== except && until > now) {
      out[id] = until;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** The live record of bytes `size` at `key` (when not canonical), keeping others' claims. */
export function liveRecord(
  size: number,
  key: string | undefined,
  created: number,
  claims: Record<string, number> | undefined,
): BlobRecord {
  const value: BlobRecord = key ? { size, key, created } : { size, created };
  if (claims) value.claims = claims;
  return value;
}

/** A writer of a digest's bytes (an upload, a manifest PUT), across its attempts. */
export interface Holder {
  /** Unique per writer: the upload id, or a random id. */
  id: string;
  /** Where this writer put its bytes; null until it has. */
  key: string | null;
  /** Version of this writer's last claim commit (of the marker it wrote with it). */
  claimed?: string;
}

/** What a commit that records bytes must check and write (see {@linkcode BlobStore.hold}). */
export interface Held {
  /** The blob record's version the commit must still find. */
  check: Check;
  /** The live record the commit writes (or, when `unchanged`, keeps). */
  value: BlobRecord;
  /** The record stays as it is: the commit bumps `["blob-linked", digest]` instead. */
  unchanged?: boolean;
}

/** True when writing `value` over `record` would change nothing. */
export function sameRecord(record: BlobRecord, value: BlobRecord): boolean {
  const a = record.claims ?? {};
  const b = value.claims ?? {};
  return isLive(record) && record.created !== undefined && record.created === value.created &&
    record.key === value.key && record.size === value.size &&
    Object.keys(a).length === Object.keys(b).length &&
    Object.keys(a).every((id) => a[id] === b[id]);
}

/** Options of {@linkcode BlobStore.hold}. */
export interface HoldOptions {
  /**
   * True when `write` may run again (the bytes are in memory): after a lost claim the
   * bytes are written anew; otherwise they must still be whole where they were put.
   */
  rewrite: boolean;
  /** Mutations committed with every claim (a monolithic upload's marker). */
  claimAlso?: Mutation[];
}
