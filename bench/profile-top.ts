// Summarise V8 .cpuprofile files (from `node --cpu-prof`): self time per function and per
// source file, top N. Usage: node --import tsx bench/profile-top.ts <file-or-dir> [N]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idlePct: number;
  functions: Array<{ name: string; where: string; ms: number; pct: number }>;
  files: Array<{ where: string; ms: number; pct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  return u.startsWith('/') ? relative(process.cwd(), u) : u;
}

export function summarise(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || '(anonymous)';
    total += us;
    if (name === '(idle)' || name === '(program)') { if (name === '(idle)') idle += us; }
    const where = `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    const key = `${name}@${where}`;
    const cur = fn.get(key) ?? { name, where, us: 0 };
    cur.us += us;
    fn.set(key, cur);
    if (name === '(idle)') continue;
    const f = shortUrl(n.callFrame.url);
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const busy = total - idle || 1;
  return {
    file,
    totalMs: total / 1000,
    idlePct: (idle / (total || 1)) * 100,
    functions: [...fn.values()].filter((f) => f.name !== '(idle)').sort((a, b) => b.us - a.us).slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, pct: (f.us / busy) * 100 })),
    files: [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([where, us]) => ({ where, ms: us / 1000, pct: (us / busy) * 100 })),
  };
}

export function profileFiles(target: string): string[] {
  if (statSync(target).isDirectory()) return readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f)).sort();
  return [target];
}

export function printSummary(s: ProfileSummary): string {
  const out = [`${s.file}: ${s.totalMs.toFixed(0)} ms sampled, ${s.idlePct.toFixed(0)}% idle; self time of busy samples:`];
  for (const f of s.functions) out.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}`);
  out.push('  by file:');
  for (const f of s.files.slice(0, 10)) out.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(6)} ms  ${f.where}`);
  return out.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [target, n] = process.argv.slice(2);
  if (!target) {
    console.error('usage: profile-top.ts <file.cpuprofile|dir> [N]');
    process.exit(2);
  }
  for (const f of profileFiles(target)) console.log(printSummary(summarise(f, Number(n ?? 15))) + '\n');
}
