/**
 * @module
 * Copying a registry's metadata from one store to another (a Deno KV file to PostgreSQL,
 * and back), and proving the copy: afterwards both stores are walked side by side in
 * key order and must hold the same records with the same values.
 *
 * What is copied: every record, except those that describe running processes
 * (heartbeats `["instance", …]` and job leases `["lease", …]`), which mean nothing once
 * the registry is stopped and which every instance writes anew when it starts. Upload
 * sessions keep their expiry: stores do not say how long a record has left, so they get
 * the full session lifetime (`berth.uploads.sessionttl`) again; at worst an abandoned
 * upload lives one lifetime longer.
 *
 * What is refused: a source on which an instance is still running (its heartbeat is
 * current), since records written during the copy could be missed; and a target that
 * already holds records, since the copy must not mix two registries.
 */
import type { MetadataStore, MetaKey, Mutation, Versioned } from "../../drivers/metadata/types.ts";
import { METADATA_LIMITS } from "../../drivers/metadata/types.ts";
import { COMMIT_TOTAL_LIMITS, keyBytes, valueBytes } from "../../drivers/metadata/limits.ts";
import { compareKeys } from "../../drivers/metadata/memory.ts";
import { meta } from "../registry/keys.ts";

/** Key prefixes of records that belong to running processes and are not copied. */
const NOT_COPIED: readonly MetaKey[] = [meta.instances(), meta.leases()];

/** Options of {@linkcode copyMetadata}. */
export interface CopyOptions {
  /** Lifetime given to copied upload sessions (`berth.uploads.sessionttl`). */
  sessionTtlMs: number;
  /** Told after every commit, with the number of records copied so far. */
  progress?: (copied: number) => void;
}

/** What a copy did. */
export interface CopyReport {
  /** Records written to the target. */
  copied: number;
  /** Heartbeats and leases left behind. */
  skipped: number;
  /** The comparison of both stores afterwards. */
  verified: Comparison;
}

/** The result of {@linkcode compareStores}. */
export interface Comparison {
  /** Records found alike in both stores. */
  same: number;
  /** Keys whose records differ or exist on one side only. */
  different: number;
  /** The first few of those, with what is wrong. */
  examples: { key: MetaKey; problem: string }[];
}

/** Thrown when a copy is refused before anything was written. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CopyRefusedError";
  }
}

function startsWith(key: MetaKey, prefix: MetaKey): boolean {
  return key.length >= prefix.length && prefix.every((p, i) => key[i] === p);
}

const copied = (key: MetaKey) => !NOT_COPIED.some((p) => startsWith(key, p));

/** The copied records of `store`, in key order. */
async function* records(store: MetadataStore): AsyncIterable<Versioned<unknown>> {
  for await (const e of store.list<unknown>([])) if (copied(e.key)) yield e;
}

/** Throws {@linkcode CopyRefusedError} when an instance still beats on `store`. */
async function assertIdle(store: MetadataStore, side: string): Promise<void> {
  for await (const e of store.list<{ until?: number }>(meta.instances())) {
    const until = e.value?.until;
    if (typeof until === "number" && until > Date.now()) {
      throw new CopyRefusedError(
        `Instance "${e.key[1]}" is running on the ${side} store (its heartbeat is current); ` +
          `stop every instance of the registry before copying its metadata`,
      );
    }
  }
}

/**
 * Copies every record of `from` (but heartbeats and leases) into the empty store `to`,
 * then compares both. Throws {@linkcode CopyRefusedError} before writing anything when
 * the source is in use or the target is not empty.
 */
export async function copyMetadata(
  from: MetadataStore,
  to: MetadataStore,
  options: CopyOptions,
): Promise<CopyReport> {
  await assertIdle(from, "source");
  await assertIdle(to, "target");
  for await (const e of records(to)) {
    throw new CopyRefusedError(
      `The target store already holds records (the first is ${JSON.stringify(e.key)}); ` +
        `copy into an empty store`,
    );
  }
  let count = 0;
  let skipped = 0;
  let batch: Mutation[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const version = await to.commit([], batch);
    if (version === null) throw new Error("The target store refused a commit without checks");
    count += batch.length;
    batch = [];
    bytes = 0;
    options.progress?.(count);
  };
  for await (const e of from.list<unknown>([])) {
    if (!copied(e.key)) {
      skipped++;
      continue;
    }
    // Each set counts its key twice and its value once towards a commit's total.
    const size = 2 * keyBytes(e.key) + valueBytes(e.value);
    if (
      batch.length === METADATA_LIMITS.mutationsPerCommit / 2 ||
      bytes + size > COMMIT_TOTAL_LIMITS.totalMutationBytes * 0.9
    ) await flush();
    const expiring = startsWith(e.key, meta.uploads());
    batch.push({
      type: "set",
      key: e.key,
      value: e.value,
      ...(expiring ? { expireInMs: options.sessionTtlMs } : {}),
    });
    bytes += size;
  }
  await flush();
  return { copied: count, skipped, verified: await compareStores(from, to) };
}

/** JSON text of a value, which is how alike is judged (a JSON store keeps no more). */
const text = (value: unknown) => JSON.stringify(value);

/** How many differences {@linkcode compareStores} describes. */
const EXAMPLES = 20;

/**
 * Walks both stores in key order (heartbeats and leases left out) and counts the keys
 * whose records are alike, and those that differ or exist on one side only.
 */
export async function compareStores(a: MetadataStore, b: MetadataStore): Promise<Comparison> {
  const result: Comparison = { same: 0, different: 0, examples: [] };
  const note = (key: MetaKey, problem: string) => {
    if (++result.different <= EXAMPLES) result.examples.push({ key, problem });
  };
  const left = records(a)[Symbol.asyncIterator]();
  const right = records(b)[Symbol.asyncIterator]();
  let x = await left.next();
  let y = await right.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : compareKeys(x.value.key, y.value.key);
    if (order < 0) {
      note(x.value!.key, "only in the source");
      x = await left.next();
    } else if (order > 0) {
      note(y.value!.key, "only in the target");
      y = await right.next();
    } else {
      if (text(x.value!.value) === text(y.value!.value)) result.same++;
      else note(x.value!.key, "values differ");
      x = await left.next();
      y = await right.next();
    }
  }
  return result;
}
