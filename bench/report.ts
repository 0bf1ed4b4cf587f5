/**
 * @module
 * Collects the benchmark's figures and renders them: each row holds Berth's and
 * distribution's median, the ratio oriented so that above 1 means Berth is better, the
 * target and whether it is met. A registry that failed a scenario gets `n/a` and a
 * footnote with the reason instead of stopping the run.
 */
import { cpuSeconds, type Server } from "./servers.ts";

/** What a row is judged against. */
export type Target =
  | { ratioAtLeast: number }
  | { berthBelow: number }
  | { berthAtLeast: number }
  | null;

/** One line of the table. */
export interface Row {
  scenario: string;
  unit: string;
  /** Medians; null when every attempt failed. */
  berth: number | null;
  distribution: number | null;
  /** True for throughputs, false for times and memory. */
  higherIsBetter: boolean;
  target: Target;
  /** Every sample, for the JSON file. */
  samples: { berth: number[]; distribution: number[] };
  /** Why a figure is missing, or what else to know about the row. */
  notes: string[];
  /** A figure distribution has no counterpart for (shown as "-", no ratio). */
  berthOnly?: boolean;
  /**
   * Median CPU seconds (user + system) the server process spent per round: on a shared
   * machine, what each registry cost apart from the clients' time.
   */
  cpu?: { berth: number | null; distribution: number | null };
}

/** The middle sample (the upper one of an even count). */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function short(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").slice(0, 160);
}

/** The rows of one run. */
export class Report {
  readonly rows: Row[] = [];
  /** Why a registry is not running (it failed to start), for the rows it is missing from. */
  readonly absent = new Map<Server["name"], string>();

  /** Adds a row with figures measured elsewhere. */
  add(row: Omit<Row, "samples" | "notes"> & Partial<Pick<Row, "samples" | "notes">>): void {
    this.rows.push({
      samples: {
        berth: row.berth === null ? [] : [row.berth],
        distribution: row.distribution === null ? [] : [row.distribution],
      },
      notes: [],
      ...row,
    });
  }

  /**
   * Runs `measure` on each server in turn, `times` rounds (alternating, so drift in the
   * machine's state hits both alike), and records the medians. A failed attempt is
   * noted, not retried.
   */
  async compare(
    servers: Server[],
    scenario: string,
    unit: string,
    higherIsBetter: boolean,
    target: Target,
    times: number,
    measure: (s: Server, round: number) => Promise<number>,
  ): Promise<Row> {
    const spec = { scenario, unit, higherIsBetter, target };
    return (await this.compareAll(servers, [spec], times, (s, _, round) => measure(s, round)))[0];
  }

  /**
   * {@linkcode compare} for several rows measured together: each round measures every row
   * on every server before the next round starts, so a drift (the page cache filling,
   * writeback starting) hits all rows alike instead of the ones measured last.
   */
  async compareAll(
    servers: Server[],
    specs: RowSpec[],
    times: number,
    measure: (s: Server, row: number, round: number) => Promise<number>,
  ): Promise<Row[]> {
    const samples = specs.map((): Row["samples"] => ({ berth: [], distribution: [] }));
    const cpu = specs.map((): Row["samples"] => ({ berth: [], distribution: [] }));
    const notes = specs.map((): string[] => []);
    for (let i = 0; i < times; i++) {
      for (let r = 0; r < specs.length; r++) {
        for (const s of servers) {
          try {
            const before = await cpuSeconds(s.pid);
            samples[r][s.name].push(await measure(s, r, i));
            cpu[r][s.name].push(await cpuSeconds(s.pid) - before);
          } catch (err) {
            const note = `${s.name}: ${short(err)}`;
            if (!notes[r].includes(note)) notes[r].push(note);
          }
        }
      }
    }
    return specs.map((spec, r) => {
      for (const name of ["berth", "distribution"] as const) {
        if (!servers.some((s) => s.name === name)) {
          notes[r].push(`${name}: ${this.absent.get(name) ?? "not running"}`);
        }
      }
      const row: Row = {
        ...spec,
        berth: median(samples[r].berth),
        distribution: median(samples[r].distribution),
        samples: samples[r],
        notes: notes[r],
        cpu: { berth: median(cpu[r].berth), distribution: median(cpu[r].distribution) },
      };
      this.rows.push(row);
      console.error(
        `  ${spec.scenario.trim()}: berth ${fmt(row.berth)}, distribution ${fmt(row.distribution)}`,
      );
      return row;
    });
  }
}

/** What a measured row is: its name, unit, direction and target. */
export interface RowSpec {
  scenario: string;
  unit: string;
  higherIsBetter: boolean;
  target: Target;
}

/** A figure with about three significant digits. */
export function fmt(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return "n/a";
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Berth against distribution, above 1 when Berth is better; null without both figures. */
export function ratio(row: Row): number | null {
  if (row.berth === null || row.distribution === null || !row.berth || !row.distribution) {
    return null;
  }
  return row.higherIsBetter ? row.berth / row.distribution : row.distribution / row.berth;
}

function verdict(row: Row): string {
  const t = row.target;
  if (!t) return "";
  if ("berthBelow" in t) {
    return row.berth === null ? "n/a" : row.berth < t.berthBelow ? "met" : "MISSED";
  }
  if ("berthAtLeast" in t) {
    return row.berth === null ? "n/a" : row.berth >= t.berthAtLeast ? "met" : "MISSED";
  }
  const r = ratio(row);
  return r === null ? "n/a" : r >= t.ratioAtLeast ? "met" : "MISSED";
}

function targetText(row: Row): string {
  const t = row.target;
  if (!t) return "";
  if ("berthBelow" in t) return `< ${t.berthBelow} ${row.unit}`;
  if ("berthAtLeast" in t) return `>= ${t.berthAtLeast} ${row.unit}`;
  // 0.97 stays 0.97; 3 shows as 3.0.
  const digits = Number.isInteger(t.ratioAtLeast * 10) ? 1 : 2;
  return `>= ${t.ratioAtLeast.toFixed(digits)}x`;
}

/** The table as aligned Markdown, with numbered footnotes for missing figures and notes. */
export function renderTable(rows: Row[]): string {
  const footnotes: string[] = [];
  const cite = (row: Row) => {
    if (!row.notes.length) return "";
    footnotes.push(row.notes.join("; "));
    return ` [${footnotes.length}]`;
  };
  const header = [
    "scenario",
    "unit",
    "berth",
    "distribution",
    "ratio",
    "target",
    "verdict",
    "server CPU s (b / d)",
  ];
  const body = rows.map((row) => {
    const r = ratio(row);
    // Memory is judged against a fixed limit: show the decimal that decides it.
    const figure = (n: number | null) =>
      row.unit === "MiB" && n !== null && Number.isFinite(n) ? n.toFixed(1) : fmt(n);
    return [
      row.scenario + cite(row),
      row.unit,
      figure(row.berth),
      row.berthOnly ? "-" : figure(row.distribution),
      r !== null ? `${fmt(r)}x` : row.berthOnly ? "" : "n/a",
      targetText(row),
      verdict(row),
      row.cpu ? `${fmt(row.cpu.berth)} / ${fmt(row.cpu.distribution)}` : "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([2, 3, 4, 7]);
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(" | ")
    } |`;
  const rule = `| ${
    widths.map((w, i) => right.has(i) ? "-".repeat(w - 1) + ":" : "-".repeat(w)).join(" | ")
  } |`;
  const out = [line(header), rule, ...body.map(line)];
  if (footnotes.length) out.push("", ...footnotes.map((f, i) => `[${i + 1}] ${f}`));
  return out.join("\n");
}
