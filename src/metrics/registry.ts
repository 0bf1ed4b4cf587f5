/**
 * @module
 * A small Prometheus metrics registry: counters, gauges and histograms with labels, and
 * their rendering in the Prometheus text exposition format (version 0.0.4), which is what
 * distribution's `/metrics` serves and every Prometheus scrapes.
 *
 * The runtime owns one {@linkcode MetricsRegistry} and hands it to every capability
 * (`CapabilityContext.metrics`), so the mirror, notifications or garbage collection
 * register their own series next to the HTTP and storage ones:
 *
 * ```ts
 * const hits = ctx.metrics.counter({
 *   name: "registry_proxy_hits_total",
 *   help: "The number of total proxy request hits",
 *   labels: ["type"],
 * });
 * hits.labels("blob").inc();
 * ```
 *
 * Registering a name again with the same kind and labels returns the metric already
 * registered (so two modules can share one); another kind or other labels is an error.
 * Label values are given in the order of `labels`. Keep label values few: no repository
 * names, digests or request ids (each value set is one series kept for the process's life).
 */

/** The content type of {@linkcode MetricsRegistry.render}'s text. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus' default histogram buckets (seconds), as distribution's timers use them. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** What every metric is declared with. */
export interface MetricOptions {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total` by convention. */
  name: string;
  help: string;
  /** Label names, in the order their values are given. */
  labels?: readonly string[];
}

/** A histogram's declaration: `buckets` are upper bounds, ascending (+Inf is implied). */
export interface HistogramOptions extends MetricOptions {
  buckets?: readonly number[];
}

/** A gauge's declaration; `collect` runs before each scrape to set its values. */
export interface GaugeOptions extends MetricOptions {
  collect?: (gauge: Gauge) => void | Promise<void>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What the metric kinds share: a name, help, label names and one child per value set. */
abstract class Metric<Child> {
  abstract readonly kind: "counter" | "gauge" | "histogram";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { values: readonly string[]; child: Child }>();

  constructor(options: MetricOptions) {
    if (!NAME.test(options.name)) throw new Error(`Metric name "${options.name}" is not valid`);
    const labels = options.labels ?? [];
    for (const label of labels) {
      if (!LABEL.test(label) || label.startsWith("__")) {
        throw new Error(`Label name "${label}" of metric "${options.name}" is not valid`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labels;
  }

  protected abstract create(): Child;

  /** The series of one set of label values (in the order of the declared labels). */
  labels(...values: string[]): Child {
    const key = values.join("\u0001");
    const found = this.children.get(key);
    if (found) return found.child;
    if (values.length !== this.labelNames.length) {
      throw new Error(
        `Metric "${this.name}" takes ${this.labelNames.length} label values, got ${values.length}`,
      );
    }
    const child = this.create();
    this.children.set(key, { values: [...values], child });
    return child;
  }

  /** Removes every series (a gauge whose `collect` rebuilds them). */
  reset(): void {
    this.children.clear();
  }

  /** The series as text lines. */
  abstract lines(): string[];

  protected labelText(values: readonly string[], extra = ""): string {
    const pairs = values.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`);
    if (extra) pairs.push(extra);
    return pairs.length ? `{${pairs.join(",")}}` : "";
  }
}

/** A counter's series. */
export interface CounterChild {
  readonly value: number;
  inc(by?: number): void;
}

/** A value that only goes up (requests, bytes, conflicts). */
export class Counter extends Metric<CounterChild> {
  readonly kind = "counter" as const;

  protected create(): CounterChild {
    return new CounterSeries();
  }

  /** Increments the series without labels. */
  inc(by = 1): void {
    this.labels().inc(by);
  }

  lines(): string[] {
    return [...this.children.values()].map(({ values, child }) =>
      `${this.name}${this.labelText(values)} ${formatValue(child.value)}`
    );
  }
}

/** A gauge's series. */
export interface GaugeChild {
  readonly value: number;
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
}

/** A value that goes up and down (requests in flight, open sessions). */
export class Gauge extends Metric<GaugeChild> {
  readonly kind = "gauge" as const;
  readonly collect?: (gauge: Gauge) => void | Promise<void>;

  constructor(options: GaugeOptions) {
    super(options);
    this.collect = options.collect;
  }

  protected create(): GaugeChild {
    return new GaugeSeries();
  }

  /** Sets the series without labels. */
  set(value: number): void {
    this.labels().set(value);
  }

  lines(): string[] {
    return [...this.children.values()].map(({ values, child }) =>
      `${this.name}${this.labelText(values)} ${formatValue(child.value)}`
    );
  }
}

/** A histogram's series. */
export interface HistogramChild {
  readonly count: number;
  readonly sum: number;
  observe(value: number): void;
}

/** Observations counted into buckets (latencies, sizes). */
export class Histogram extends Metric<HistogramChild> {
  readonly kind = "histogram" as const;
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions) {
    super(options);
    if (this.labelNames.includes("le")) {
      throw new Error(`Histogram "${options.name}" cannot have a label "le"`);
    }
    const buckets = options.buckets ?? DEFAULT_BUCKETS;
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]))) {
      throw new Error(`Buckets of histogram "${options.name}" must be finite and ascending`);
    }
    this.buckets = [...buckets];
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }

  /** Observes a value on the series without labels. */
  observe(value: number): void {
    this.labels().observe(value);
  }

  lines(): string[] {
    const out: string[] = [];
    for (const { values, child } of this.children.values()) {
      const { counts } = child as HistogramSeries;
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i];
        const le = `le="${formatValue(bound)}"`;
        out.push(`${this.name}_bucket${this.labelText(values, le)} ${cumulative}`);
      });
      out.push(`${this.name}_bucket${this.labelText(values, 'le="+Inf"')} ${child.count}`);
      out.push(`${this.name}_sum${this.labelText(values)} ${formatValue(child.sum)}`);
      out.push(`${this.name}_count${this.labelText(values)} ${child.count}`);
    }
    return out;
  }
}

class CounterSeries implements CounterChild {
  value = 0;
  inc(by = 1): void {
    if (!(by >= 0)) throw new Error(`A counter cannot go down (by ${by})`);
    this.value += by;
  }
}

class GaugeSeries implements GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

class HistogramSeries implements HistogramChild {
  count = 0;
  sum = 0;
  /** Observations per bucket, not cumulative (summed when rendered). */
  readonly counts: number[];
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array(buckets.length).fill(0);
  }
  observe(value: number): void {
    const buckets = this.buckets;
    let i = 0;
    while (i < buckets.length && value > buckets[i]) i++;
    if (i < buckets.length) this.counts[i]++;
    this.count++;
    this.sum += value;
  }
}

/** The metrics of one process, rendered together. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Counter | Gauge | Histogram>();

  /** Registers (or finds) a counter. */
  counter(options: MetricOptions): Counter {
    return this.#register(options, "counter", () => new Counter(options));
  }

  /** Registers (or finds) a gauge. */
  gauge(options: GaugeOptions): Gauge {
    return this.#register(options, "gauge", () => new Gauge(options));
  }

  /** Registers (or finds) a histogram. */
  histogram(options: HistogramOptions): Histogram {
    return this.#register(options, "histogram", () => new Histogram(options));
  }

  /** The metric registered under `name`, if any. */
  get(name: string): Counter | Gauge | Histogram | undefined {
    return this.#metrics.get(name);
  }

  /**
   * Every metric in the text exposition format, after running the gauges' `collect`
   * callbacks (one that fails keeps its previous values). Metrics without series yet
   * are left out.
   */
  async render(): Promise<string> {
    const metrics = [...this.#metrics.values()];
    await Promise.all(metrics.map(async (m) => {
      if (m.kind === "gauge" && m.collect) {
        await (async () => await m.collect!(m))().catch(() => {});
      }
    }));
    const out: string[] = [];
    for (const m of metrics.sort((a, b) => a.name < b.name ? -1 : 1)) {
      const lines = m.lines();
      if (!lines.length) continue;
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.kind}`, ...lines);
    }
    return out.length ? out.join("\n") + "\n" : "";
  }

  #register<M extends Counter | Gauge | Histogram>(
    options: MetricOptions,
    kind: M["kind"],
    make: () => M,
  ): M {
    const found = this.#metrics.get(options.name);
    if (!found) {
      const metric = make();
      this.#metrics.set(options.name, metric);
      return metric;
    }
    const labels = options.labels ?? [];
    if (found.kind !== kind || found.labelNames.join() !== labels.join()) {
      throw new Error(
        `Metric "${options.name}" is already registered as a ${found.kind} with labels ` +
          `[${found.labelNames.join(", ")}]`,
      );
    }
    return found as M;
  }
}

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
