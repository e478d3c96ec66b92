// Classify every sample of a .cpuprofile into one area: the first rule (in order) that matches any frame of its stack wins.
// Usage: node bench/profile/cpuprofile-areas.mjs FILE.cpuprofile (from `node --cpu-prof` or `bun --cpu-prof`).
// Area shares are printed of busy samples, and again of the steady state (without startup and connection setup).
import { readFileSync } from 'node:fs';
const ROOT = new URL('../../', import.meta.url).pathname;
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const key = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, 'nm/').replace(ROOT, '')}:${n.callFrame.lineNumber}`;
const rules = [
  ['idle', /^\(idle\)/],
  ['garbage collector', /^\(garbage collector\)/],
  ['startup: module loading/compile', /esm\/(loader|utils|translators|module_job)|bootstrap\/realm|^\(program\)|moduleEvaluation|loadAndEvaluateModule|requestImportModule|link /],
  ['connection setup (HTTP upgrade, handshake, accept)', /handleUpgrade|completeUpgrade|onconnection|_http_server|upgrade\.(js|ts):(9|40|100)\b|onUpgrade|fetch .*hono|websocket\/index|upgradeWebSocket|Bun__|handleOpen|open .*bun/],
  ['writing frames to sockets (stream write + native write/writev)', /^(Socket\._write|Socket\._writeGeneric|writeGeneric|handleWriteReq|writeBuffer|writev|writevGeneric|createWriteWrap|afterWriteDispatched|onwrite|afterWrite|writeOrBuffer|Writable\.write|_write node:internal\/streams|Writable\.uncork|Writable\.cork|clearBuffer|doWrite) /, (stack) => stack.some((k) => /^flush(All)? |^(Socket\._write|writeGeneric) /.test(k))],
  ['batching a turn\'s frames (Buffer.concat)', /^concat node:buffer/],
  ['broker fan-out core (publish loop, deliver, enqueue)', /src\/core\/|fast-socket-session|native-fanout|publishValidTopic|socket-routes|create-broker/],
  ['ws receive/parse (publisher frames)', /nm\/ws\/lib\/receiver|socketOnData|onStreamRead|readableAddChunk/],
  ['timers', /listOnTimeout|processTimers/],
];
const counts = new Map();
for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const areas = new Map(); const examples = new Map(); const steadySelf = new Map();
for (const [id, c] of counts) {
  const stack = []; for (let x = id; x !== undefined; x = parent.get(x)) stack.push(key(byId.get(x)));
  let area = 'other';
  for (const [name, re, also] of rules) if (stack.some((k) => re.test(k)) && (!also || also(stack))) { area = name; break; }
  areas.set(area, (areas.get(area) ?? 0) + c);
  if (!/^(idle|startup|connection)/.test(area)) steadySelf.set(stack[0], (steadySelf.get(stack[0]) ?? 0) + c);
  if (area === 'other') examples.set(stack[0], (examples.get(stack[0]) ?? 0) + c);
}
const total = p.samples.length, idle = areas.get('idle') ?? 0, busy = total - idle;
const dt = (p.endTime - p.startTime) / 1e6;
console.log(`samples ${total} over ${dt.toFixed(2)} s (mean interval ${(1e3*dt/total).toFixed(2)} ms); idle ${idle} (${(100*idle/total).toFixed(1)}%); busy ${busy}`);
for (const [a, c] of [...areas].sort((x, y) => y[1] - x[1])) if (a !== 'idle') console.log(`${(100*c/busy).toFixed(1).padStart(5)}%  ${String(c).padStart(6)}  ${a}`);
console.log('--- top leaves in "other"');
for (const [k, c] of [...examples].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`${(100*c/busy).toFixed(1).padStart(5)}% ${k}`);
{ const skip = [...areas.keys()].filter((a) => /^(idle|startup|connection)/.test(a)); const steady = busy - skip.filter((a) => !/^idle/.test(a)).reduce((s, a) => s + areas.get(a), 0);
  console.log(`--- steady state: busy samples outside startup and connection setup/teardown: ${steady}`);
  for (const [a, c] of [...areas].sort((x, y) => y[1] - x[1])) if (!skip.includes(a)) console.log(`${(100 * c / steady).toFixed(1).padStart(5)}%  ${String(c).padStart(6)}  ${a}`); }
{ const n = [...steadySelf.values()].reduce((a, b) => a + b, 0);
  console.log(`--- steady state: self samples per function (of ${n})`);
  for (const [k, c] of [...steadySelf].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(100 * c / n).toFixed(1).padStart(5)}% ${String(c).padStart(5)} ${k}`); }
