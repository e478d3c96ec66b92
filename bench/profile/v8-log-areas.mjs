// Classify each tick of a V8 --prof log (preprocessed: node --prof-process --preprocess) into one area.
// Usage: node bench/profile/v8-log-areas.mjs TICKS.json (from `node --prof-process --preprocess` of a V8 `--prof` log,
// e.g. Deno's: see README, "Where the time goes").
import { readFileSync } from 'node:fs';
const ROOT = new URL('../../', import.meta.url).pathname;
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const name = (i) => { const c = p.code[i]; return c ? `${c.name}`.replace(ROOT, '') : '?'; };
const VM = ['JS', 'GC', 'PARSER', 'BYTECODE_COMPILER', 'COMPILER', 'OTHER', 'EXTERNAL', 'ATOMICS_WAIT', 'IDLE', 'LOGGING'];
const any = (re) => (st) => st.some((k) => re.test(k));
const rules = [
  ['idle (vm state IDLE)', (st, t) => t.vm === 8],
  ['garbage collector (vm state GC)', (st, t) => t.vm === 1],
  ['startup: parse/compile/module loading/descriptor probe', (st, t) => t.vm >= 2 && t.vm <= 4 || any(/loadExtScript|lazyLoad|probeDescriptors|^Script: |zod\/|reg-exp-router|loadModule|evaluate/)(st)],
  ['connection setup (accept, HTTP upgrade, handshake)', any(/handleUpgrade|completeUpgrade|_onconnection|connectionListener|_http_server|_http_common|_http_incoming|onUpgrade|hono\/dist\/compose|Server\._createSocket/)],
  ['connection teardown (close)', any(/socketOnClose|Writable\.end|ERR_STREAM_ALREADY_FINISHED|emitCloseNT|_destroy/)],
  ['writing frames to sockets (node:net write path + send())', (st) => any(/^__send@|^Socket\._write|writeGeneric|handleWriteReq|createWriteWrap|onWriteComplete|afterWrite|^onwrite /)(st) || (any(/^flush(All)? /)(st) && any(/writeOrBuffer|^Writable\.(write|cork|uncork)|^_write ext:deno_node/)(st))],
  ["batching a turn's frames (Buffer.concat)", any(/^concat ext:deno_node\/internal\/buffer/)],
  ['broker fan-out core (publish loop, deliver, enqueue, flush)', any(/src\/core\/|fast-socket-session|native-fanout|socket-routes|create-broker|upgrade\.ts:200/)],
  ['ws receive/parse (publisher frames)', any(/ws\/lib\/receiver|socketOnData|onStreamRead|readableAddChunk|receiverOnMessage/)],
  ['timers', any(/timers/)],
];
const areas = new Map(), other = new Map(), leaf = new Map();
let denoSelf = 0; const denoBy = new Map();
for (const t of p.ticks) {
  const st = []; for (let i = 0; i < t.s.length; i += 2) if (t.s[i] >= 0) st.push(name(t.s[i]));
  let area = 'other';
  for (const [n, f] of rules) if (f(st, t)) { area = n; break; }
  areas.set(area, (areas.get(area) ?? 0) + 1);
  { const k = area + ' :: ' + (st[0] ?? '?') + (st[1] && /^(node_modules\/deno|\/usr\/lib|[A-Z][A-Za-z]+$)/.test(st[0] ?? '?') ? ' < ' + st[1] : ''); leaf.set(k, (leaf.get(k) ?? 0) + 1); }
  if (area === 'other') { const k = `vm=${VM[t.vm]} ${st.slice(0, 3).join(' < ')}`; other.set(k, (other.get(k) ?? 0) + 1); }
  if (/node_modules\/deno\/deno$/.test(st[0] ?? '')) { denoSelf++; denoBy.set(area, (denoBy.get(area) ?? 0) + 1); }
}
const total = p.ticks.length;
const span = (p.ticks.at(-1).tm - p.ticks[0].tm) / 1e6;
const vmc = {}; for (const t of p.ticks) vmc[VM[t.vm]] = (vmc[VM[t.vm]] ?? 0) + 1;
console.log(`ticks ${total} over ${span.toFixed(2)} s (mean interval ${(1e3 * span / total).toFixed(2)} ms); vm states ${JSON.stringify(vmc)}`);
const idle = areas.get('idle (vm state IDLE)') ?? 0; const busy = total - idle;
for (const [a, c] of [...areas].sort((x, y) => y[1] - x[1])) console.log(`${(100 * c / busy).toFixed(1).padStart(5)}%  ${String(c).padStart(5)}  ${a}`);
console.log(`--- ticks whose pc is in the deno binary (Rust runtime/ops and V8's own C++, unsymbolised): ${denoSelf} (${(100 * denoSelf / busy).toFixed(1)}%), by area:`);
for (const [a, c] of [...denoBy].sort((x, y) => y[1] - x[1])) console.log(`${(100 * c / busy).toFixed(1).padStart(5)}%  ${String(c).padStart(5)}  ${a}`);
console.log('--- top "other"');
for (const [k, c] of [...other].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`${String(c).padStart(5)} ${k.slice(0, 200)}`);
console.log('--- top self (leaf) per area, % of busy');
for (const [k, c] of [...leaf].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`${(100 * c / busy).toFixed(1).padStart(5)}% ${String(c).padStart(5)} ${k.slice(0, 200)}`);
{ const skip = [...areas.keys()].filter((a) => /^(idle|startup|connection)/.test(a)); const steady = busy - skip.filter((a) => !/^idle/.test(a)).reduce((s, a) => s + areas.get(a), 0);
  console.log(`--- steady state: busy samples outside startup and connection setup/teardown: ${steady}`);
  for (const [a, c] of [...areas].sort((x, y) => y[1] - x[1])) if (!skip.includes(a)) console.log(`${(100 * c / steady).toFixed(1).padStart(5)}%  ${String(c).padStart(6)}  ${a}`); }
