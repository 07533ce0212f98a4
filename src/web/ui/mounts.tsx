// Mounts and sync page: the mount table (options redacted by the server) with each mount's
// sync settings and where they come from, mount/unmount for admins, the sync points, and the
// recent loadMetadata / checkConsistency runs of every client (the console's own named by user).

import { useEffect, useState } from 'preact/hooks';
import { errorText, get, qs } from './api.js';
import type { SessionInfo } from './api.js';
import { JobStatus, describeResult, useAction } from './actions.js';
import type { Job } from './actions.js';
import { duration, time } from './format.js';
import { SyncPointTable } from './overview.js';

interface Mount { path: string; ufsUri: string; readOnly: boolean; options: Record<string, string>; mountId: number; sync: Record<string, { value: string; source: string }> }
interface MountsBody {
  mounts: Mount[];
  syncPoints: Array<{ path: string; state: string; lastEventMs?: number; eventsApplied: number; message?: string }>;
  activeSync: Record<string, number> | null;
  reports: Job[];
}

export function Mounts({ session }: { session: SessionInfo }) {
  const [body, setBody] = useState<MountsBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ path: '', ufsUri: '', readOnly: false, options: '' });
  const isAdmin = session.user.role === 'admin';
  const reload = () => get<MountsBody>('/mounts').then((b) => { setBody(b); setError(null); }, (e) => setError(errorText(e)));
  const action = useAction(() => { void reload(); });

  useEffect(() => {
    void reload();
    const t = setInterval(reload, Math.max(5000, session.sampleIntervalMs));
    return () => clearInterval(t);
  }, []);

  const mount = (e: Event) => {
    e.preventDefault();
    const options: Record<string, string> = {};
    for (const line of form.options.split(/[\n,]/)) {
      const eq = line.indexOf('=');
      if (eq > 0) options[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    void action.run({ op: 'mount', path: form.path, ufsUri: form.ufsUri, readOnly: form.readOnly, options });
  };

  return (
    <section aria-labelledby="mt-h">
      <h1 id="mt-h">Mounts and sync</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <JobStatus job={action.job} error={action.error} />
      <h2>Mount table</h2>
      <div class="scroll">
        <table>
          <thead><tr><th>Path</th><th>UFS</th><th>Read-only</th><th>Options</th><th>Sync settings</th>{isAdmin && <th>Actions</th>}</tr></thead>
          <tbody>
            {body?.mounts.map((m) => (
              <tr key={m.path}>
                <td><a href={`#/browse${qs({ path: m.path })}`}>{m.path}</a></td>
                <td class="ufs">{m.ufsUri}</td>
                <td>{m.readOnly ? 'read-only' : 'read-write'}</td>
                <td>{Object.keys(m.options).length === 0 ? <small>none</small> : Object.entries(m.options).map(([k, v]) => <div key={k}><code>{k}={v}</code></div>)}</td>
                <td>{Object.entries(m.sync).map(([k, v]) => <div key={k}><code>{k}={v.value}</code> <small>({v.source})</small></div>)}</td>
                {isAdmin && <td>{m.path !== '/' && <button type="button" disabled={action.busy} onClick={() => action.run({ op: 'unmount', path: m.path })}>Unmount</button>}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {isAdmin && (
        <form class="mount-form" onSubmit={mount} aria-labelledby="mf-h">
          <h3 id="mf-h">Mount</h3>
          <label>Path <input required value={form.path} placeholder="/data/s3" onInput={(e) => setForm({ ...form, path: (e.target as HTMLInputElement).value })} /></label>
          <label>UFS URI <input required value={form.ufsUri} placeholder="s3://bucket/prefix" onInput={(e) => setForm({ ...form, ufsUri: (e.target as HTMLInputElement).value })} /></label>
          <label>Options (key=value, one a line) <textarea rows={2} value={form.options} onInput={(e) => setForm({ ...form, options: (e.target as HTMLTextAreaElement).value })} /></label>
          <label class="check"><input type="checkbox" checked={form.readOnly} onChange={(e) => setForm({ ...form, readOnly: (e.target as HTMLInputElement).checked })} /> read-only</label>
          <button type="submit" disabled={action.busy}>Mount</button>
        </form>
      )}
      <h2>Sync points</h2>
      {body && (
        <SyncPointTable points={body.syncPoints} actions={isAdmin ? (p) => (
          <button type="button" disabled={action.busy} onClick={() => action.run({ op: 'stopSync', path: p.path })}>Stop</button>
        ) : undefined} />
      )}
      {body?.activeSync && (
        <p>Active sync lag: p50 {duration(body.activeSync.lagP50Ms)}, p99 {duration(body.activeSync.lagP99Ms)}, max {duration(body.activeSync.lagMaxMs)};
          {' '}events received {body.activeSync.eventsReceived ?? 0}, applied {body.activeSync.eventsApplied ?? 0}, full resyncs {body.activeSync.fullResyncs ?? 0}.</p>
      )}
      <h2>Recent sync reports</h2>
      {body && body.reports.length === 0 && <p>No loadMetadata or checkConsistency run since the server started.</p>}
      {body && body.reports.length > 0 && (
        <div class="scroll">
          <table>
            <thead><tr><th>When</th><th>Action</th><th>Path</th><th>By</th><th>Took</th><th>Result</th></tr></thead>
            <tbody>
              {body.reports.map((j) => (
                <tr key={j.id}>
                  <td>{time(j.startedMs)}</td><td>{j.op}</td><td>{j.path}</td><td>{j.user}</td>
                  <td>{j.finishedMs ? duration(j.finishedMs - j.startedMs) : 'running'}</td><td>{describeResult(j)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
