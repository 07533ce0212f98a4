// CPU per frame of the getStatus frames in process: the request's encode and decode, the
// answer's encode and decode, through msgpackr (the generic path) and through the in-place
// codecs (encodeRequestFrame, decodeRequestFrame, encodeAnswerFrame, decodeAnswerFrame), 16
// frames per chunk as at 16 in flight. Run: node --import tsx bench/codec-frames.ts [--n 300000]

import { FrameDecoder, decodeAnswerFrame, decodeRequestFrame, encodeAnswerFrame, encodeFrame, encodeRequestFrame } from '../src/protocol/codec.js';
import { parseClientMessage, parseServerMessage } from '../src/protocol/messages.js';

const argv = process.argv.slice(2);
const n = Number(argv[argv.indexOf('--n') + 1] ?? 300_000) || 300_000;
let sink = 0;
function timed(name: string, f: (i: number) => unknown): void {
  for (let i = 0; i < 50_000; i++) f(i);
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f(i);
  const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(44)} ${((c.user + c.system) / n).toFixed(3)} µs/frame`);
}
const path = '/bench-md/target';
const info = { path, name: 'target', type: 'file', length: 100, mtimeMs: 1764876000123.5, ctimeMs: 1764876000123.5,
  atimeMs: 1764876000123.5, fileId: 12345, persistenceState: 'NOT_PERSISTED', cachedBytes: 100, pinned: false, mode: 420, uid: 0, gid: 0 };
const reqs = Buffer.concat(Array.from({ length: 16 }, (_, i) => encodeFrame({ t: 'req', id: i, op: 'getStatus', args: [path] })));
const answers = Buffer.concat(Array.from({ length: 16 }, (_, i) => encodeAnswerFrame(i, info)));
const count = (m: object): void => { sink += (m as { id?: number }).id ?? 0; };
timed('request encode, msgpackr', (i) => encodeFrame({ t: 'req', id: i, op: 'getStatus', args: [path] }));
timed('request encode, in place', (i) => encodeRequestFrame(i, 'getStatus', [path]));
const reqGeneric = new FrameDecoder({ validate: parseClientMessage });
const reqFast = new FrameDecoder({ validate: parseClientMessage, fast: decodeRequestFrame });
timed('request decode + validate, msgpackr', (i) => { if (i % 16 === 0) reqGeneric.push(reqs, count); });
timed('request decode + validate, in place', (i) => { if (i % 16 === 0) reqFast.push(reqs, count); });
timed('answer encode (encodeAnswerFrame)', (i) => encodeAnswerFrame(i, info));
const ansGeneric = new FrameDecoder({ validate: parseServerMessage });
const ansFast = new FrameDecoder({ validate: parseServerMessage, fast: decodeAnswerFrame });
timed('answer decode + validate, msgpackr', (i) => { if (i % 16 === 0) ansGeneric.push(answers, count); });
timed('answer decode + validate, in place', (i) => { if (i % 16 === 0) ansFast.push(answers, count); });
if (sink < 0) console.log(sink);
