// A live time-series chart (uPlot) that follows the width of its container. The data is
// columns: x = seconds since the epoch, then one array per series; null leaves a gap.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface SeriesDef {
  label: string;
  color: string;
  /** Format of a value in the legend. */
  value?: (v: number | null) => string;
}

export interface ChartProps {
  title: string;
  series: SeriesDef[];
  data: Array<Array<number | null>>;
  /** Fixed y range (e.g. 0..1 for a ratio). */
  yRange?: [number, number];
  yFormat?: (v: number) => string;
}

export function Chart({ title, series, data, yRange, yFormat }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const width = Math.max(200, el.clientWidth);
    const opts: uPlot.Options = {
      width, height: 160,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#56606b', grid: { stroke: '#e5e8eb' }, ticks: { stroke: '#e5e8eb' }, space: 70,
          values: (_u, splits) => splits.map(clock) },
        { stroke: '#56606b', grid: { stroke: '#e5e8eb' }, ticks: { stroke: '#e5e8eb' }, size: 56,
          values: (_u, splits) => splits.map((v) => (yFormat ? yFormat(v) : compact(v))) },
      ],
      series: [
        { label: 'time', value: (_u: uPlot, v: number | null, _si: number, idx: number | null) => (idx === null || v === null ? 'now' : clock(v)) },
        ...series.map((s) => ({
          label: s.label, stroke: s.color, width: 2, fill: `${s.color}22`, spanGaps: false, points: { show: false },
          // With the cursor off the chart the legend shows the newest value.
          value: (u: uPlot, v: number | null, si: number, idx: number | null) => {
            const shown = idx === null ? lastValue(u.data[si] as Array<number | null> | undefined) : v;
            return s.value ? s.value(shown) : shown === null ? '–' : compact(shown);
          },
        })),
      ],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 160 });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={`${title}, last 15 minutes`} />
    </figure>
  );
}

/** HH:MM:SS of a time in seconds since the epoch (local time). */
function clock(s: number): string {
  const d = new Date(s * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function lastValue(col: Array<number | null> | undefined): number | null {
  if (!col) return null;
  for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null && col[i] !== undefined) return col[i]!;
  return null;
}

function compact(v: number): string {
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
