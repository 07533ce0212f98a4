// One row of the bench table: a figure, the physical limit measured beside it in the same
// run, and their ratio. Rows without a limit (or not measured yet) keep ratio null.

export interface Row {
  /** Figure number of issue 3 (1..8, S3 rows are "S3"). */
  fig: string;
  name: string;
  value: number | null;
  unit: string;
  limitName: string;
  limit: number | null;
  /** value / limit, or limit / value when lower is better (latency). */
  ratio: number | null;
  /** The target, as text (a figure to report, never a test threshold). */
  target?: string;
  /** Whether the target holds (undefined: no target or not measured). */
  meets?: boolean;
  note?: string;
  /** Extra measurements (p50/p99, counts...) kept in the JSON. */
  extra?: Record<string, unknown>;
}

export function ratio(value: number, limit: number, lowerIsBetter = false): number {
  if (!(value > 0) || !(limit > 0)) return 0;
  return lowerIsBetter ? limit / value : value / limit;
}

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(Math.max(0, digits));
  if (Math.abs(n) >= 10) return n.toFixed(Math.max(1, digits));
  return n.toFixed(Math.max(2, digits));
}

/** The table as Markdown (also printed to the terminal). */
export function markdownTable(rows: Row[]): string {
  const head = '| # | figure | value | limit measured beside it | limit | ratio | target | note |';
  const sep = '|---|---|---:|---|---:|---:|---|---|';
  const lines = rows.map((r) => {
    const v = r.value === null ? 'not measured yet' : `${fmt(r.value)} ${r.unit}`;
    const l = r.limit === null ? '—' : `${fmt(r.limit)} ${r.unit}`;
    const q = r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`;
    const t = r.target ? `${r.target}${r.meets === undefined ? '' : r.meets ? ' ✓' : ' ✗'}` : '';
    return `| ${r.fig} | ${r.name} | ${v} | ${r.limitName} | ${l} | ${q} | ${t} | ${r.note ?? ''} |`;
  });
  return [head, sep, ...lines].join('\n');
}
