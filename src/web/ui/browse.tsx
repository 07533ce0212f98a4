// Browse page: one directory at a time, paged (each page is the next page of one server-side
// listStatus stream; pages already seen are kept for "Previous"), with each entry's cache and
// persistence state and the cache/sync actions the user's role allows.

import { useEffect, useState } from 'preact/hooks';
import { errorText, get, qs } from './api.js';
import type { SessionInfo } from './api.js';
import { JobStatus, useAction } from './actions.js';
import { bytes, duration, time } from './format.js';

export interface FileInfo {
  path: string; name: string; type: 'file' | 'directory'; length: number; mtimeMs: number; fileId: number;
  persistenceState: string; cachedBytes: number; pinned: boolean; mountPoint: string; ufsPath: string;
  isMountPoint?: boolean; ttlMs?: number; ttlAction?: string; persistAttempts?: number; lastPersistError?: string;
}

interface Page { path: string; entries: FileInfo[]; offset: number; cursor?: string; status?: FileInfo }

function parent(p: string): string {
  if (p === '/') return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function cachedPercent(f: FileInfo): string {
  if (f.type === 'directory') return '';
  if (f.length === 0) return f.persistenceState === 'NOT_PERSISTED' || f.cachedBytes > 0 ? '100 %' : '0 %';
  return `${Math.round((f.cachedBytes / f.length) * 100)} %`;
}

function ttl(f: FileInfo): string {
  return f.ttlMs !== undefined && f.ttlMs >= 0 ? `${duration(f.ttlMs)} (${f.ttlAction ?? 'free'})` : '';
}

function Crumbs({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean);
  return (
    <nav aria-label="Path" class="crumbs">
      <a href={`#/browse${qs({ path: '/' })}`}>/</a>
      {parts.map((p, i) => {
        const to = '/' + parts.slice(0, i + 1).join('/');
        return <span key={to}>{i > 0 && ' / '}{i === parts.length - 1 ? <span aria-current="page">{p}</span> : <a href={`#/browse${qs({ path: to })}`}>{p}</a>}</span>;
      })}
    </nav>
  );
}

export function Browse({ session, path }: { session: SessionInfo; path: string }) {
  const [pages, setPages] = useState<Page[]>([]);
  const [index, setIndex] = useState(0);
  const [pageSize, setPageSize] = useState(100);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<FileInfo | null>(null);
  const [dir, setDir] = useState<FileInfo | null>(null);

  useEffect(() => {
    let stale = false;
    setPages([]);
    setIndex(0);
    setSelected(null);
    setError(null);
    setLoading(true);
    get<Page>(`/list${qs({ path, pageSize })}`).then((p) => {
      if (stale) return;
      setPages([p]);
      setDir(p.status ?? null);
    }, (err) => { if (!stale) setError(errorText(err)); }).finally(() => { if (!stale) setLoading(false); });
    return () => { stale = true; };
  }, [path, pageSize]);

  const page = pages[index];
  const next = async () => {
    if (index + 1 < pages.length) return setIndex(index + 1);
    if (!page?.cursor) return;
    setLoading(true);
    try {
      const p = await get<Page>(`/list${qs({ cursor: page.cursor })}`);
      if (p.entries.length === 0) {
        setPages(pages.map((x, i) => (i === index ? { ...x, cursor: undefined } : x)));
      } else {
        setPages([...pages, p]);
        setIndex(index + 1);
      }
    } catch (err) {
      setError(errorText(err));
    } finally {
      setLoading(false);
    }
  };

  const patch = (f: FileInfo) => {
    setPages((ps) => ps.map((p) => ({ ...p, entries: p.entries.map((e) => (e.path === f.path ? f : e)) })));
    if (dir?.path === f.path) setDir(f);
    setSelected((s) => (s?.path === f.path ? f : s));
  };

  const first = page ? page.offset + 1 : 0;
  const last = page ? page.offset + page.entries.length : 0;
  const hasNext = !!page && (index + 1 < pages.length || !!page.cursor);
  const info = page ? (page.entries.length ? `Entries ${first}–${last}${hasNext ? '' : ' (end)'}` : 'Empty directory') : loading ? 'Loading…' : '';
  const pager = (id: string) => (
    <>
      <button type="button" onClick={() => setIndex(index - 1)} disabled={index === 0 || loading}>Previous page</button>
      <span id={id} aria-live={id === 'page-info' ? 'polite' : undefined}>{info}</span>
      <button type="button" onClick={next} disabled={!hasNext || loading}>Next page</button>
    </>
  );
  const select = (f: FileInfo) => {
    setSelected(f);
    requestAnimationFrame(() => {
      const el = document.getElementById('selected-details');
      el?.scrollIntoView({ block: 'nearest' });
      el?.focus({ preventScroll: true });
    });
  };
  return (
    <section aria-labelledby="br-h">
      <h1 id="br-h">Browse</h1>
      <Crumbs path={path} />
      {error && <p class="error" role="alert">{error}</p>}
      <div class="toolbar">
        {path !== '/' && <a class="button" href={`#/browse${qs({ path: parent(path) })}`}>Up</a>}
        <label>Page size{' '}
          <select value={pageSize} onChange={(e) => setPageSize(Number((e.target as HTMLSelectElement).value))}>
            {[50, 100, 200, 500].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        {pager('page-info')}
      </div>
      {dir && <Details session={session} file={dir} onChange={patch} heading="This directory" />}
      {selected && <Details session={session} file={selected} onChange={patch} heading={`Selected: ${selected.name}`} key={selected.path} id="selected-details" />}
      <div class="scroll">
        <table class="listing">
          <thead><tr>
            <th scope="col">Name</th><th scope="col">Size</th><th scope="col">Modified</th><th scope="col">Persistence</th>
            <th scope="col">Cached</th><th scope="col">Pinned</th><th scope="col">TTL</th><th scope="col">Mount point</th><th scope="col">UFS path</th>
          </tr></thead>
          <tbody>
            {page?.entries.map((f) => (
              <tr key={f.path} class={selected?.path === f.path ? 'selected' : ''} data-path={f.path}>
                <td class="name">
                  {f.type === 'directory'
                    ? <a href={`#/browse${qs({ path: f.path })}`} class="dir">{f.name}/</a>
                    : <button type="button" class="link" onClick={() => select(f)} aria-pressed={selected?.path === f.path}>{f.name}</button>}
                  {f.isMountPoint && <span class="tag">mount</span>}
                  {f.type === 'directory' && <button type="button" class="link small" onClick={() => select(f)} aria-label={`Details of ${f.name}`}>details</button>}
                </td>
                <td data-label="Size">{f.type === 'file' ? bytes(f.length) : ''}</td>
                <td data-label="Modified">{time(f.mtimeMs)}</td>
                <td data-label="Persistence"><span class={`state state-${f.persistenceState}`}>{f.persistenceState}</span></td>
                <td data-label="Cached">{cachedPercent(f)}</td>
                <td class="pinned" data-label="Pinned">{f.pinned ? 'pinned' : ''}</td>
                <td data-label="TTL">{ttl(f)}</td>
                <td data-label="Mount">{f.mountPoint}</td>
                <td class="ufs" data-label="UFS">{f.ufsPath}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page && page.entries.length > 20 && <div class="toolbar pager-bottom">{pager('page-info-bottom')}</div>}
    </section>
  );
}

const ACTIONS: Array<{ op: string; label: string; access: string; dirOnly?: boolean; recursive?: boolean }> = [
  { op: 'load', label: 'Load', access: 'load', recursive: true },
  { op: 'free', label: 'Free', access: 'free', recursive: true },
  { op: 'persist', label: 'Persist', access: 'persist', recursive: true },
  { op: 'pin', label: 'Pin', access: 'setPinned', recursive: true },
  { op: 'unpin', label: 'Unpin', access: 'setPinned', recursive: true },
  { op: 'loadMetadata', label: 'Load metadata', access: 'loadMetadata', recursive: true },
  { op: 'checkConsistency', label: 'Check consistency', access: 'checkConsistency', recursive: true },
  { op: 'needsSync', label: 'Needs sync', access: 'needsSync' },
  { op: 'startSync', label: 'Start active sync', access: 'startSync', dirOnly: true },
  { op: 'stopSync', label: 'Stop active sync', access: 'stopSync', dirOnly: true },
];

function Details({ session, file, onChange, heading, id }: { session: SessionInfo; file: FileInfo; onChange: (f: FileInfo) => void; heading: string; id?: string }) {
  const [recursive, setRecursive] = useState(file.type === 'directory');
  const [ttlValue, setTtlValue] = useState('1h');
  const [ttlAction, setTtlAction] = useState('free');
  const action = useAction(async () => {
    try {
      onChange(await get<FileInfo>(`/status${qs({ path: file.path })}`));
    } catch {
      // The path may be gone (TTL delete): the listing shows it on the next load.
    }
  });
  const isAdmin = session.user.role === 'admin';
  const allowed = ACTIONS.filter((a) => (isAdmin || !session.adminOps.includes(a.access)) && (!a.dirOnly || file.type === 'directory'));
  const idp = `act-${file.fileId}-${heading.length}`;
  return (
    <div class="details" aria-label={heading} role="region" id={id} tabIndex={id ? -1 : undefined}>
      <h2>{heading}</h2>
      <dl class="inline">
        <div><dt>Path</dt><dd>{file.path}</dd></div>
        <div><dt>Persistence</dt><dd>{file.persistenceState}{file.persistAttempts ? ` (${file.persistAttempts} attempts${file.lastPersistError ? `: ${file.lastPersistError}` : ''})` : ''}</dd></div>
        {file.type === 'file' && <div><dt>Cached</dt><dd>{bytes(file.cachedBytes)} of {bytes(file.length)}</dd></div>}
        <div><dt>Pinned</dt><dd data-testid="pinned">{file.pinned ? 'yes' : 'no'}</dd></div>
        <div><dt>UFS</dt><dd class="ufs">{file.ufsPath}</dd></div>
      </dl>
      <div class="actions" role="group" aria-label={`Actions on ${file.path}`}>
        {file.type === 'directory' && (
          <label><input type="checkbox" checked={recursive} onChange={(e) => setRecursive((e.target as HTMLInputElement).checked)} /> recursive</label>
        )}
        {allowed.map((a) => (
          <button type="button" key={a.op} disabled={action.busy} data-op={a.op}
            onClick={() => action.run({ op: a.op, path: file.path, recursive: a.recursive ? recursive : false })}>{a.label}</button>
        ))}
        <span class="ttl">
          <label for={`${idp}-ttl`}>TTL</label>
          <input id={`${idp}-ttl`} value={ttlValue} size={6} onInput={(e) => setTtlValue((e.target as HTMLInputElement).value)} />
          <label for={`${idp}-ttla`} class="sr-only">TTL action</label>
          <select id={`${idp}-ttla`} value={ttlAction} onChange={(e) => setTtlAction((e.target as HTMLSelectElement).value)}>
            <option value="free">free</option><option value="delete">delete</option>
          </select>
          <button type="button" disabled={action.busy} onClick={() => action.run({ op: 'setTtl', path: file.path, ttl: ttlValue, action: ttlAction })}>Set TTL</button>
          <button type="button" disabled={action.busy} onClick={() => action.run({ op: 'setTtl', path: file.path, ttl: -1 })}>Clear TTL</button>
        </span>
      </div>
      <JobStatus job={action.job} error={action.error} />
    </div>
  );
}
