/**
 * @module
 * One garbage collection, online: pushes, pulls and deletes go on while it runs, and it
 * never deletes what a committed manifest references.
 *
 * 1. Read every blob record with its version (before any link is read: a link made
 *    later changes the version, so the record survives).
 * 2. Mark each repository from a snapshot of its records (`mark.ts`) and commit its
 *    removals (`repository.ts`): retention's tags, dead manifests, unreferenced layer
 *    links; a repository left empty leaves the catalog. One that changes meanwhile is
 *    marked again, and after a few tries left for the next run.
 * 3. Read every link left, and remove the records (and bytes) no link names and no live
 *    manifest references (`sweep.ts`).
 * 4. List the blob store for bytes no record names (a crash's leftovers).
 *
 * Callers hold the fleet-wide lease `gc` (the online job through the scheduler, the
 * command in `cli.ts`), so two collections never run at once.
 */
import type { BlobDriver } from "../../drivers/blob/types.ts";
import type { MetadataStore } from "../../drivers/metadata/types.ts";
import type { RetentionConfig } from "../config/gc.ts";
import type { Logger } from "../log.ts";
import { meta } from "../registry/keys.ts";
import { markRepository } from "./mark.ts";
import { Pacer } from "./pace.ts";
import {
  applyPlan,
  type Plan,
  readRepository,
  removeIfEmpty,
  type RepoSnapshot,
} from "./repository.ts";
import { type GcReport, newReport, summary } from "./report.ts";
import { Retention } from "./retention.ts";
import {
  readBlobRecords,
  readReferences,
  type SweepContext,
  sweepOrphans,
  sweepRecords,
} from "./sweep.ts";

/** How a collection runs. */
export interface CollectOptions {
  /** Nothing younger than this (ms) is removed. */
  grace: number;
  /** Remove untagged manifests where no retention policy says otherwise. */
  deleteUntagged: boolean;
  retention?: RetentionConfig;
  /** Report only; change nothing. */
  dryRun?: boolean;
  /** Aborts the run between steps (the lease was lost, the process stops). */
  signal?: AbortSignal;
  logger?: Logger;
  /** How long records stay `deleting` (`sweep.ts`'s default; shorter in tests). */
  deletingMs?: number;
  /** Share of the time the run may work (default 1); it rests the rest (`pace.ts`). */
  duty?: number;
}

/** Times a repository that keeps changing is marked before it is left for the next run. */
const MARKS = 5;

/** Runs one collection over the registry in `store` and `driver`. */
export async function collect(
  driver: BlobDriver,
  store: MetadataStore,
  options: CollectOptions,
): Promise<GcReport> {
  const dryRun = options.dryRun ?? false;
  const report = newReport(dryRun);
  const retention = new Retention(options.retention, options.deleteUntagged);
  const ctx: SweepContext = {
    driver,
    store,
    report,
    dryRun,
    grace: options.grace,
    signal: options.signal,
    deletingMs: options.deletingMs,
    pacer: new Pacer(options.duty ?? 1),
  };
  let lap = performance.now();
  const phase = (name: keyof GcReport["phases"]) => {
    const now = performance.now();
    report.phases[name] = Math.round(now - lap);
    lap = now;
  };
  const records = await readBlobRecords(store, ctx.pacer);
  phase("records");
  const referenced = new Set<string>();
  const dropped = new Set<string>();
  const names = await Array.fromAsync(store.list(meta.repos()), (e) => e.key[1]);
  for (const name of names) {
    options.signal?.throwIfAborted();
    await collectRepository(ctx, name, retention, referenced, dropped);
    await ctx.pacer.tick();
  }
  phase("mark");
  const refs = await readReferences(store, records, referenced, dropped, ctx.pacer);
  phase("references");
  await sweepRecords(ctx, records, refs);
  phase("sweep");
  await sweepOrphans(ctx, records, refs);
  phase("orphans");
  report.ms = Date.now() - report.started;
  options.logger?.info(dryRun ? "garbage collection (dry run)" : "garbage collection", {
    ...summary(report),
  });
  return report;
}

/** Marks one repository and commits its removals, marking again when it changed. */
async function collectRepository(
  ctx: SweepContext,
  name: string,
  retention: Retention,
  referenced: Set<string>,
  dropped: Set<string>,
): Promise<void> {
  const { store, report, dryRun } = ctx;
  const policy = retention.policyFor(name);
  const retentionDryRun = retention.config?.dryrun ?? false;
  const pulls = policy.keepTags !== undefined && retention.usesPulls;
  for (let attempt = 0; attempt < MARKS; attempt++) {
    const snap = await readRepository(store, name, pulls);
    const now = Date.now();
    let plan = markRepository(snap, policy, now, ctx.grace, dryRun);
    if (retentionDryRun && plan.tags.length && !dryRun) {
      // Retention only reports: its tags stay, and so does what they keep.
      for (const tag of plan.tags) report.retentionDryRun.push(`${name}:${tag}`);
      plan = markRepository(snap, { ...policy, keepTags: undefined }, now, ctx.grace, false);
    }
    for (const digest of plan.referenced) referenced.add(digest);
    if (dryRun) {
      record(report, snap, plan);
      for (const d of [...plan.links, ...plan.manifests]) dropped.add(`${name}\0${d}`);
      if (plan.empty && snap.repo) report.removed.repositories.push(name);
      return;
    }
    if (await applyPlan(store, snap, plan)) {
      record(report, snap, plan);
      if (plan.empty && await removeIfEmpty(store, snap)) report.removed.repositories.push(name);
      return;
    }
    report.retried.push(name);
  }
  report.skipped.push(name);
}

function record(report: GcReport, snap: RepoSnapshot, plan: Plan): void {
  const name = snap.name;
  for (const tag of plan.tags) report.removed.tags.push(`${name}:${tag}`);
  for (const d of plan.manifests) report.removed.manifests.push(`${name}@${d}`);
  for (const d of plan.links) report.removed.links.push(`${name}@${d}`);
  report.kept.push(...plan.kept);
}
