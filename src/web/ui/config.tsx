// Configuration page: every server key with its effective value and whether it is the
// default or was set on the server (preset, config file, -D), and the path configuration
// (pathConf) that overrides keys below a path, longest prefix first.

import { useEffect, useState } from 'preact/hooks';
import { errorText, get } from './api.js';

interface ConfigBody {
  server: Array<{ key: string; value: string; default: string; source: string; perPath: boolean; doc: string }>;
  pathConf: Array<{ path: string; properties: Record<string, string> }>;
}

export function Config() {
  const [body, setBody] = useState<ConfigBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<ConfigBody>('/config').then(setBody, (e) => setError(errorText(e)));
  }, []);
  return (
    <section aria-labelledby="cf-h">
      <h1 id="cf-h">Configuration</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {body && (
        <>
          <h2>Path configuration</h2>
          {body.pathConf.length === 0 ? <p>No path configuration (set one with <code>strata fsadmin pathConf add</code>).</p> : (
            <div class="scroll"><table>
              <thead><tr><th>Path</th><th>Properties</th></tr></thead>
              <tbody>
                {[...body.pathConf].sort((a, b) => b.path.length - a.path.length).map((p) => (
                  <tr key={p.path}><td>{p.path}</td><td>{Object.entries(p.properties).map(([k, v]) => <div key={k}><code>{k}={v}</code></div>)}</td></tr>
                ))}
              </tbody>
            </table></div>
          )}
          <h2>Server configuration</h2>
          <div class="scroll"><table>
            <thead><tr><th>Key</th><th>Value</th><th>Source</th><th>Per path</th><th>Meaning</th></tr></thead>
            <tbody>
              {body.server.map((r) => (
                <tr key={r.key} class={r.source === 'default' ? '' : 'set'}>
                  <td><code>{r.key}</code></td><td><code>{r.value}</code></td>
                  <td>{r.source}{r.source !== 'default' && <small> (default {r.default})</small>}</td>
                  <td>{r.perPath ? 'yes' : 'no'}</td><td>{r.doc}</td>
                </tr>
              ))}
            </tbody>
          </table></div>
        </>
      )}
    </section>
  );
}
