// Progress bars of long CLI work (copy, load, loadMetadata) on stderr, with the speed
// (bytes/s, or entries/s for syncs) and the ETA when the total is known. Shown only when
// stderr is a terminal, so scripts, pipes and `--json` consumers never see them; a bar is
// drawn on the first update, so work that reports nothing draws nothing.

import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import { formatSize } from '../config/units.js';
import type { Progress } from '../types.js';

/** What a progress bar counts: bytes (shown as sizes) or items. */
export type ProgressUnit = 'bytes' | 'items';

/** A progress display; a no-op when stderr is not a TTY. */
export interface ProgressBar {
  /** Set the progress (absolute values). */
  update(p: Progress): void;
  /** Add to the current value (for byte streams). */
  add(n: number): void;
  /** Set or change the total once known. */
  setTotal(total: number): void;
  /** Finish and release the line. */
  stop(): void;
}

const NOOP: ProgressBar = { update() {}, add() {}, setTotal() {}, stop() {} };

/** True when progress should be drawn (stderr is a terminal, not disabled by env). */
export function progressEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.STRATA_NO_PROGRESS;
}

/**
 * A progress bar labelled `label`, counting `unit`; `total` may come later (or never:
 * then only the running count is shown).
 */
export function createProgress(label: string, unit: ProgressUnit, total?: number): ProgressBar {
  if (!progressEnabled()) return NOOP;
  // Loaded only when a bar is drawn: commands on a pipe never pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const show = (v: number): string => (unit === 'bytes' ? formatSize(v) : String(v));
  const startedAt = Date.now();
  let value = 0;
  let knownTotal = total;
  let phase = '';
  let started = false;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
    format: (options, params) => {
      const t = knownTotal;
      const ph = phase ? ` ${phase}` : '';
      const rate = speedOf(params.value, Date.now() - startedAt);
      const speed = rate === undefined ? '' : `  ${unit === 'bytes' ? `${formatSize(rate)}/s` : `${Math.round(rate)} entries/s`}`;
      if (t === undefined || t <= 0) return `${label} ${show(params.value)}${unit === 'items' ? ' done' : ''}${speed}${ph}`;
      const barText = cliProgress.Format.BarFormat(Math.min(1, params.value / t), options);
      const pct = Math.floor((100 * Math.min(params.value, t)) / t);
      return `${label} |${barText}| ${String(pct).padStart(3)}% ${show(params.value)}/${show(t)}${speed}${etaText(params.value, t, rate)}${ph}`;
    },
  }, cliProgress.Presets.shades_classic);
  const ensure = (): void => {
    if (!started) {
      started = true;
      bar.start(knownTotal ?? 0, value);
    }
  };
  return {
    update(p) {
      value = unit === 'bytes' && p.bytes !== undefined ? p.bytes : p.done;
      if (p.total !== undefined && unit === 'items') knownTotal = p.total;
      if (p.phase) phase = p.phase;
      ensure();
      if (knownTotal !== undefined) bar.setTotal(knownTotal);
      bar.update(value);
    },
    add(n) {
      value += n;
      ensure();
      bar.update(value);
    },
    setTotal(t) {
      knownTotal = t;
      if (started) bar.setTotal(t);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Average rate per second since the start, once there is enough to say (≥ 0.5 s of work). */
export function speedOf(value: number, elapsedMs: number): number | undefined {
  if (elapsedMs < 500 || value <= 0) return undefined;
  return (value * 1000) / elapsedMs;
}

/** `  ETA 1m05s` from the remaining work and the rate; empty when unknown. */
export function etaText(value: number, total: number, rate: number | undefined): string {
  if (rate === undefined || rate <= 0 || value >= total) return '';
  const s = Math.ceil((total - value) / rate);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `  ETA ${h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`}`;
}
