// A lightweight S3 load driver for the gateway bench, run in its own process so that the
// figures measure the server, not a client sharing its CPU: plain `node:http` with a
// keep-alive agent and SigV4 of its own (UNSIGNED-PAYLOAD; GET signatures computed once per
// key before the clock starts). `node --import tsx bench/lib/s3-load.ts '<job json>'` prints
// one JSON line `{ seconds, ops, bytes }` (or `{ times }` for `repeat`).

import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';

export interface Target { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string; bucket: string }

export type Job =
  | { kind: 'get'; target: Target; keys: string[]; n: number; inFlight: number; repeat?: number }
  | { kind: 'put'; target: Target; prefix: string; size: number; n: number; inFlight: number }
  | { kind: 'list'; target: Target; prefix: string; expect: number; repeat: number }
  /** writeFile over Strata's TCP protocol, beside the gateway's PUT: the coordinator's share of a PUT. */
  | { kind: 'strataPut'; address: string; token: string; dir: string; size: number; n: number; inFlight: number }
  /** The local-disk reference: fs.readFile of a file (page cache warm), `repeat` times. */
  | { kind: 'readLocal'; path: string; repeat: number }
  /**
   * The same GET (or, with `file`, the local file) by curl into /dev/null, `repeat` times: a
   * client in C whose own cost is small beside the server's; each time is curl's `time_total`.
   */
  | { kind: 'getCurl'; target: Target; key?: string; file?: string; repeat: number };

export interface JobResult { seconds: number; ops: number; bytes: number; times?: number[]; clientCpuMs?: number }

const hmac = (k: string | Buffer, d: string): Buffer => createHmac('sha256', k).update(d).digest();
const sha256 = (d: string): string => createHash('sha256').update(d).digest('hex');

function enc(s: string, keepSlash: boolean): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(keepSlash ? /%2F/g : /$^/, '/');
}

/** A SigV4 signer for one target, the signing key derived once per day. */
export function signer(t: Target): (method: string, path: string, query: Array<[string, string]>) => { path: string; headers: Record<string, string> } {
  const url = new URL(t.endpoint);
  const host = url.host;
  let day = ''; let key: Buffer = Buffer.alloc(0);
  return (method, path, query) => {
    const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
    if (amzDate.slice(0, 8) !== day) {
      day = amzDate.slice(0, 8);
      key = hmac(hmac(hmac(hmac(`AWS4${t.secretAccessKey}`, day), t.region), 's3'), 'aws4_request');
    }
    const canonPath = enc(path, true);
    const cq = query.map(([k, v]) => `${enc(k, false)}=${enc(v, false)}`).sort().join('&');
    const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
    const names = Object.keys(headers).sort();
    const canonical = [method, canonPath, cq, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
    const scope = `${day}/${t.region}/s3/aws4_request`;
    const sig = createHmac('sha256', key).update(['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n')).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${t.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
    return { path: canonPath + (cq ? `?${cq}` : ''), headers };
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request; resolves with the status and the body length (or the body when `keep`). */
function request(t: Target, method: string, path: string, headers: Record<string, string>, body?: Buffer, keep = false):
  Promise<{ status: number; bytes: number; body?: string }> {
  const url = new URL(t.endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, agent,
      headers: body ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      let n = 0; const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => { n += c.length; if (keep) parts.push(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: n, ...(keep ? { body: Buffer.concat(parts).toString('utf8') } : {}) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function pool(n: number, inFlight: number, op: (i: number) => Promise<number>): Promise<number> {
  let next = 0; let bytes = 0;
  await Promise.all(Array.from({ length: Math.min(n, inFlight) }, async () => {
    while (next < n) bytes += await op(next++);
  }));
  return bytes;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

/** Run one job and return what it measured. */
export async function runJob(job: Job): Promise<JobResult> {
  if (job.kind === 'strataPut') {
    const { StrataClient } = await import('../../src/client/tcp-client.js');
    const c = await StrataClient.connect(job.address, { token: job.token });
    try {
      const body = Buffer.alloc(job.size, 7);
      await c.createDirectory(job.dir, { recursive: true, allowExists: true });
      const t0 = now();
      await pool(job.n, job.inFlight, async (i) => { await c.writeFile(`${job.dir}/${i}`, body, { overwrite: true }); return body.length; });
      return { seconds: now() - t0, ops: job.n, bytes: job.n * job.size };
    } finally {
      await c.close();
    }
  }
  if (job.kind === 'readLocal') {
    const { readFile } = await import('node:fs/promises');
    const times: number[] = []; let bytes = 0;
    for (let r = 0; r < job.repeat; r++) { const t0 = now(); bytes += (await readFile(job.path)).length; times.push(now() - t0); }
    return { seconds: times.reduce((a, b) => a + b, 0), ops: job.repeat, bytes, times };
  }
  const t = job.target;
  const sign = signer(t);
  if (job.kind === 'getCurl') {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const times: number[] = []; let bytes = 0;
    for (let r = 0; r < job.repeat; r++) {
      const argv = ['-sS', '--fail', '-o', '/dev/null', '-w', '%{time_total} %{size_download}'];
      if (job.file) argv.push(`file://${job.file}`);
      else {
        const s = sign('GET', `/${t.bucket}/${job.key!}`, []);
        for (const [k, v] of Object.entries(s.headers)) if (k !== 'host') argv.push('-H', `${k}: ${v}`);
        argv.push(`${t.endpoint}${s.path}`);
      }
      const { stdout } = await promisify(execFile)('curl', argv, { timeout: 300_000 });
      const [secs, size] = stdout.trim().split(' ').map(Number) as [number, number];
      times.push(secs); bytes += size;
    }
    return { seconds: times.reduce((a, b) => a + b, 0), ops: job.repeat, bytes, times };
  }
  if (job.kind === 'get') {
    const signed = job.keys.map((k) => sign('GET', `/${t.bucket}/${k}`, []));
    const once = async (): Promise<{ s: number; bytes: number }> => {
      const t0 = now();
      const bytes = await pool(job.n, job.inFlight, async (i) => {
        const s = signed[i % signed.length]!;
        const r = await request(t, 'GET', s.path, s.headers);
        if (r.status !== 200) throw new Error(`GET ${s.path}: ${r.status}`);
        return r.bytes;
      });
      return { s: now() - t0, bytes };
    };
    const times: number[] = []; let bytes = 0;
    for (let r = 0; r < (job.repeat ?? 1); r++) { const o = await once(); times.push(o.s); bytes += o.bytes; }
    return { seconds: times.reduce((a, b) => a + b, 0), ops: job.n * times.length, bytes, times };
  }
  if (job.kind === 'put') {
    const body = Buffer.alloc(job.size, 7);
    const t0 = now();
    await pool(job.n, job.inFlight, async (i) => {
      const s = sign('PUT', `/${t.bucket}/${job.prefix}${i}`, []);
      const r = await request(t, 'PUT', s.path, s.headers, body);
      if (r.status !== 200) throw new Error(`PUT ${s.path}: ${r.status}`);
      return body.length;
    });
    return { seconds: now() - t0, ops: job.n, bytes: job.n * job.size };
  }
  const times: number[] = [];
  for (let r = 0; r < job.repeat; r++) {
    const t0 = now();
    let token: string | undefined; let keys = 0; let pages = 0;
    do {
      const q: Array<[string, string]> = [['list-type', '2'], ['prefix', job.prefix]];
      if (token) q.push(['continuation-token', token]);
      const s = sign('GET', `/${t.bucket}`, q);
      const res = await request(t, 'GET', s.path, s.headers, undefined, true);
      if (res.status !== 200) throw new Error(`LIST: ${res.status} ${res.body}`);
      keys += (res.body!.match(/<Key>/g) ?? []).length;
      pages++;
      token = /<IsTruncated>true<\/IsTruncated>/.test(res.body!) ? /<NextContinuationToken>([^<]*)</.exec(res.body!)?.[1] : undefined;
      if (token) token = token.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");
    } while (token && pages < 1000);
    if (keys !== job.expect) throw new Error(`listed ${keys} keys, expected ${job.expect}`);
    times.push(now() - t0);
  }
  return { seconds: Math.min(...times), ops: job.repeat, bytes: 0, times };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const job = JSON.parse(process.argv[2]!) as Job;
  // The driver's own CPU (user+sys) over the job: is the client the limit? (curl's is not counted)
  const c0 = process.cpuUsage();
  runJob(job).then((r) => {
    const c = process.cpuUsage(c0);
    process.stdout.write(`${JSON.stringify({ ...r, clientCpuMs: (c.user + c.system) / 1000 })}\n`);
    agent.destroy();
  }, (err: unknown) => {
    process.stderr.write(`s3-load: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
