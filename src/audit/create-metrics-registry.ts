/** Label values of one series, by label name. */
export type MetricLabels = Readonly<Record<string, string | number>>;

export interface Counter {
  inc(labels?: MetricLabels, by?: number): void;
}

export interface Histogram {
  /** Records one observation (seconds for durations). */
  observe(labels: MetricLabels, value: number): void;
}

export interface MetricsRegistry {
  counter(name: string, help: string, labelNames: readonly string[]): Counter;
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  /** Prometheus text exposition format 0.0.4. */
  render(): string;
}

export interface MetricsRegistryOptions {
  /**
   * Series kept per metric; observations for new label sets beyond it are counted in one series whose labels are
   * all `_overflow`, so a bug that puts unbounded values in a label cannot exhaust memory. Default 5,000.
   */
  readonly maxSeriesPerMetric?: number;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  readonly series: Map<string, Series>;
}

interface Series {
  readonly labels: string;
  value: number;
  /** Histograms: cumulative-on-render counts per bucket, then sum and count. */
  readonly counts?: number[];
  sum: number;
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * A small in-process metrics registry rendering the Prometheus text format (no client library: the format is a
 * few lines of text and this keeps the request path to a Map lookup and an addition per observation).
 */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const maxSeries = options.maxSeriesPerMetric ?? 5_000;
  const families = new Map<string, Family>();

  const family = (
    name: string,
    help: string,
    type: Family['type'],
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Family => {
    if (!metricName.test(name)) throw new Error(`Invalid metric name ${name}`);
    const existing = families.get(name);
    if (existing !== undefined) return existing;
    const created: Family = {
      name,
      help,
      type,
      labelNames,
      buckets: [...buckets].sort((a, b) => a - b),
      series: new Map(),
    };
    families.set(name, created);
    return created;
  };

  const seriesOf = (f: Family, labels: MetricLabels | undefined): Series => {
    // The lookup key by concatenation (no arrays): this runs several times per tool call.
    let key = '';
    for (let i = 0; i < f.labelNames.length; i++) {
      if (i > 0) key += '\u0000';
      key += String(labels?.[f.labelNames[i] as string] ?? '');
    }
    let series = f.series.get(key);
    if (series !== undefined) return series;
    const overflow = f.series.size >= maxSeries;
    const finalKey = overflow ? '\u0001overflow' : key;
    series = f.series.get(finalKey);
    if (series !== undefined) return series;
    const rendered = f.labelNames
      .map((label) => `${label}="${escapeLabel(overflow ? '_overflow' : String(labels?.[label] ?? ''))}"`)
      .join(',');
    series = {
      labels: rendered,
      value: 0,
      sum: 0,
      ...(f.type === 'histogram' ? { counts: new Array<number>(f.buckets.length).fill(0) } : {}),
    };
    f.series.set(finalKey, series);
    return series;
  };

  return {
    counter(name, help, labelNames) {
      const f = family(name, help, 'counter', labelNames, []);
      return {
        inc(labels, by = 1) {
          if (!(by >= 0) || !Number.isFinite(by)) return;
          seriesOf(f, labels).value += by;
        },
      };
    },
    histogram(name, help, labelNames, buckets) {
      const f = family(name, help, 'histogram', labelNames, buckets);
      return {
        observe(labels, value) {
          if (!Number.isFinite(value)) return;
          const series = seriesOf(f, labels);
          series.value++;
          series.sum += value;
          const counts = series.counts as number[];
          for (let i = 0; i < f.buckets.length; i++) {
            if (value <= (f.buckets[i] as number)) {
              counts[i] = (counts[i] as number) + 1;
              break;
            }
          }
        },
      };
    },
    render() {
      const out: string[] = [];
      for (const f of families.values()) {
        out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
        out.push(`# TYPE ${f.name} ${f.type}`);
        for (const s of f.series.values()) {
          if (f.type === 'counter') {
            out.push(`${f.name}${s.labels === '' ? '' : `{${s.labels}}`} ${s.value}`);
            continue;
          }
          const sep = s.labels === '' ? '' : ',';
          let cumulative = 0;
          f.buckets.forEach((bound, i) => {
            cumulative += (s.counts as number[])[i] as number;
            out.push(`${f.name}_bucket{${s.labels}${sep}le="${bound}"} ${cumulative}`);
          });
          out.push(`${f.name}_bucket{${s.labels}${sep}le="+Inf"} ${s.value}`);
          out.push(`${f.name}_sum${s.labels === '' ? '' : `{${s.labels}}`} ${s.sum}`);
          out.push(`${f.name}_count${s.labels === '' ? '' : `{${s.labels}}`} ${s.value}`);
        }
      }
      return `${out.join('\n')}\n`;
    },
  };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
