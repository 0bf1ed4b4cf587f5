/**
 * @module
 * What one collection did (or, on a dry run, would do): every item removed, the bytes
 * reclaimed, and on a dry run why each kept item is kept. Printed by `deno task gc` and
 * summarised in the log by the online job.
 */

/** One kept item and why. */
export interface Kept {
  /** `repo:tag`, `repo@digest` (a manifest), `repo layer digest` or a digest. */
  item: string;
  reason: string;
}

/** What a collection removed, or would remove. */
export interface Removed {
  /** `repo:tag` (retention). */
  tags: string[];
  /** `repo@digest`: untagged manifests, referrers whose subject is gone. */
  manifests: string[];
  /** `repo@digest`: layer links no live manifest references. */
  links: string[];
  /** Digests whose record and bytes went (no repository links them any more). */
  blobs: string[];
  /** Driver keys of bytes no record named (a crash's leftovers). */
  orphans: string[];
  /** Repositories left empty, gone from the catalog. */
  repositories: string[];
}

/** The report of one collection. */
export interface GcReport {
  dryRun: boolean;
  /** Milliseconds since the epoch. */
  started: number;
  /** How long the run took, in milliseconds. */
  ms: number;
  removed: Removed;
  /** Bytes of removed blobs and orphans (what a dry run would reclaim). */
  reclaimed: number;
  /** Only on a dry run: every kept manifest, tag and link, with the reason. */
  kept: Kept[];
  /** Repositories that changed while being marked and were marked again. */
  retried: string[];
  /** Repositories that kept changing and are left for the next run. */
  skipped: string[];
  /** Blobs kept because a writer holds a claim on them (a push in flight). */
  claimed: number;
  /** `repo:tag`: what retention would remove, with `berth.retention.dryrun` on. */
  retentionDryRun: string[];
  /** Milliseconds of each step: reading records, marking, reading links, sweeping. */
  phases: {
    records?: number;
    mark?: number;
    references?: number;
    sweep?: number;
    orphans?: number;
  };
}

/** An empty report of a run starting now. */
export function newReport(dryRun: boolean): GcReport {
  return {
    dryRun,
    started: Date.now(),
    ms: 0,
    removed: { tags: [], manifests: [], links: [], blobs: [], orphans: [], repositories: [] },
    reclaimed: 0,
    kept: [],
    retried: [],
    skipped: [],
    claimed: 0,
    retentionDryRun: [],
    phases: {},
  };
}

/** The counts of a report, for one log line. */
export function summary(report: GcReport): Record<string, unknown> {
  const r = report.removed;
  return {
    dryRun: report.dryRun,
    tags: r.tags.length,
    manifests: r.manifests.length,
    links: r.links.length,
    blobs: r.blobs.length,
    orphans: r.orphans.length,
    repositories: r.repositories.length,
    reclaimed: report.reclaimed,
    claimed: report.claimed,
    skipped: report.skipped.length,
    ms: report.ms,
    phases: report.phases,
  };
}

/** The report as text: what was (or would be) removed, then, on a dry run, what is kept. */
export function formatReport(report: GcReport): string {
  const verb = report.dryRun ? "would remove" : "removed";
  const lines: string[] = [];
  const r = report.removed;
  const section = (title: string, items: string[]) => {
    lines.push(`${verb} ${items.length} ${title}`);
    for (const item of items) lines.push(`  ${item}`);
  };
  section("tags", r.tags);
  section("manifests", r.manifests);
  section("layer links", r.links);
  section("blobs", r.blobs);
  section("unrecorded byte objects", r.orphans);
  section("empty repositories", r.repositories);
  if (report.dryRun) {
    lines.push(`would keep ${report.kept.length} items`);
    for (const k of report.kept) lines.push(`  ${k.item}: ${k.reason}`);
  }
  if (report.retentionDryRun.length) {
    lines.push(`retention would remove ${report.retentionDryRun.length} tags (its dryrun is on)`);
    for (const tag of report.retentionDryRun) lines.push(`  ${tag}`);
  }
  if (report.claimed) lines.push(`kept ${report.claimed} blobs a push in flight holds`);
  if (report.skipped.length) {
    lines.push(`left for the next run (changed while marked): ${report.skipped.join(", ")}`);
  }
  lines.push(
    `${report.dryRun ? "would reclaim" : "reclaimed"} ${formatBytes(report.reclaimed)} in ${
      (report.ms / 1000).toFixed(1)
    } s`,
  );
  return lines.join("\n");
}

/** `1.5 MiB` style sizes. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}
