// The console's single page: login, then four pages chosen by the URL hash (#/overview,
// #/browse?path=…, #/mounts, #/config). Real links and buttons throughout, so it works by
// keyboard; the layout collapses to one column on a narrow window.

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { errorText, get, onUnauthenticated, post, setSession } from './api.js';
import type { SessionInfo } from './api.js';
import { Browse } from './browse.js';
import { Config } from './config.js';
import { Mounts } from './mounts.js';
import { Overview } from './overview.js';

function useRoute(): { page: string; params: URLSearchParams } {
  const read = () => {
    const h = location.hash.replace(/^#\/?/, '');
    const q = h.indexOf('?');
    return { page: (q >= 0 ? h.slice(0, q) : h) || 'overview', params: new URLSearchParams(q >= 0 ? h.slice(q + 1) : '') };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const f = () => setRoute(read());
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return route;
}

function Login({ onLogin }: { onLogin: (s: SessionInfo) => void }) {
  const [accessKeyId, setKey] = useState('');
  const [secretKey, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await post<SessionInfo>('/login', { accessKeyId, secretKey }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-h">
        <h1 id="login-h">Strata console</h1>
        <p>Log in with a Strata access key (the admin key of a new server is in <code>DATA_DIR/admin.key</code> as <code>ID:SECRET</code>).</p>
        <label for="akid">Access key id</label>
        <input id="akid" name="accessKeyId" autocomplete="username" required value={accessKeyId} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <label for="secret">Secret</label>
        <input id="secret" name="secretKey" type="password" autocomplete="current-password" required value={secretKey} onInput={(e) => setSecret((e.target as HTMLInputElement).value)} />
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}

const PAGES: Array<[string, string]> = [['overview', 'Overview'], ['browse', 'Browse'], ['mounts', 'Mounts and sync'], ['config', 'Configuration']];

function App() {
  const [session, setS] = useState<SessionInfo | null | undefined>(undefined);
  const route = useRoute();
  const set = (s: SessionInfo | null) => {
    setSession(s);
    setS(s);
  };
  useEffect(() => {
    onUnauthenticated(() => set(null));
    get<SessionInfo>('/session').then(set, () => set(null));
  }, []);
  useEffect(() => {
    const title = PAGES.find(([p]) => p === route.page)?.[1] ?? 'Overview';
    document.title = `${title} · Strata`;
  }, [route.page]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) return <Login onLogin={set} />;
  const logout = async () => {
    await post('/logout').catch(() => {});
    set(null);
  };
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">Strata{session.version ? <small> {session.version}</small> : null}</span>
        <nav aria-label="Pages">
          {PAGES.map(([p, label]) => (
            <a key={p} href={`#/${p}`} aria-current={route.page === p ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <span class="who">
          <span id="who">{session.user.name} <span class={`role role-${session.user.role}`}>{session.user.role}</span></span>
          <button type="button" onClick={logout}>Log out</button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === 'browse' ? <Browse session={session} path={route.params.get('path') || '/'} />
          : route.page === 'mounts' ? <Mounts session={session} />
          : route.page === 'config' ? <Config />
          : <Overview session={session} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
