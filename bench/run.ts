/**
 * `npm run bench`: our broker against its baselines, every server in the same invocation, runs
 * alternating (each round runs every server once, in a rotating order), medians and ratios
 * printed as markdown tables. Never part of `npm test`. A broker-only feature scenario
 * (fanout-json, fanout-history, fanout-auth, idle-auth) runs in the same rounds as its plain one
 * and its ratios are against that: the same broker, the same rounds.
 *
 *   npm run bench                       # the full set (about 15 minutes on 2 cores)
 *   npm run bench -- --quick            # one short round of each, for a quick look
 *   npm run bench -- --scenarios fanout --servers broker-node,naive-ws,corked-ws --rounds 5
 *
 * Flags: --rounds N, --duration S, --warmup S, --subscribers N, --payload BYTES, --window N
 * (fan-out messages in flight), --many-window N (per publisher, many-topics),
 * --rate MSGS_PER_S (adds a fixed-rate fan-out run), --topics N (many-topics subscribers),
 * --publishers N, --idle N, --servers a,b, --scenarios a,b, --json FILE, --cluster (then also runs
 * `bench/cluster.ts`, the cluster helper's Redis fan-out table, `npm run bench:cluster`),
 * --compare DIR (adds `broker-node-before`, `broker-bun-before` and `broker-deno-before`: the broker of another
 * checkout, e.g. `git worktree add ../before HEAD~3 && (cd ../before && npm ci && npm run build)`).
 *
 * Scenarios: fanout (1 publisher → N subscribers of a parent topic, as fast as a window of
 * in-flight messages allows), fanout-json (the same with `?format=json` subscribers: each message
 * a JSON envelope with its id; brokers only), fanout-history (raw subscribers, the broker keeping
 * history: `--history-size 1000`; brokers only), fanout-auth (the broker with `--jwt-secret`, every
 * upgrade carrying a valid HS256 token in `Authorization: Bearer`; brokers only), latency-light
 * (10 msg/s into N subscribers), latency-half (half the runtime's naive baseline's peak rate),
 * many-topics (subscribers on distinct topics, many publishers), few-topics (the same traffic with
 * only the targeted topics), idle (connections held open: server memory per connection and connect
 * time), idle-auth (idle with auth on and a token on every upgrade; brokers only).
 */
import { fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { LoadPlan, LoadResult } from './loadgen/main.ts';
import { ROOT, compareSpecs, serverSpecs, startServer, treeCpuSeconds, treeRss, type ServerSpec } from './servers.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    subscribers: { type: 'string' },
    payload: { type: 'string' },
    window: { type: 'string' },
    'many-window': { type: 'string' },
    rate: { type: 'string' },
    topics: { type: 'string' },
    publishers: { type: 'string' },
    idle: { type: 'string' },
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    json: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    compare: { type: 'string' },
  },
});

const quick = flags.quick;
const num = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const settings = {
  rounds: num(flags.rounds, quick ? 1 : 3),
  duration: num(flags.duration, quick ? 2 : 5),
  warmup: num(flags.warmup, quick ? 0.5 : 1),
  subscribers: num(flags.subscribers, 1000),
  payload: num(flags.payload, 64),
  window: num(flags.window, 256),
  manyWindow: num(flags['many-window'], 64),
  rate: num(flags.rate, 0),
  topics: num(flags.topics, quick ? 2000 : 10_000),
  publishers: num(flags.publishers, 100),
  idle: num(flags.idle, quick ? 2000 : 19_900),
  latencySeconds: quick ? 3 : 10,
};

type ScenarioId =
  | 'fanout'
  | 'fanout-json'
  | 'fanout-history'
  | 'fanout-auth'
  | 'fanout-rate'
  | 'latency-light'
  | 'latency-half'
  | 'many-topics'
  | 'few-topics'
  | 'idle'
  | 'idle-auth';
const ALL_SCENARIOS: ScenarioId[] = [
  'fanout',
  'fanout-json',
  'fanout-history',
  'fanout-auth',
  ...(settings.rate > 0 ? (['fanout-rate'] as const) : []),
  'latency-light',
  'latency-half',
  'many-topics',
  'few-topics',
  'idle',
  'idle-auth',
];
/**
 * Broker features the baselines do not have: only brokers run these, and each is compared with
 * the same server's plain scenario of this run (what the feature costs), not with a baseline.
 */
const PLAIN_OF: Partial<Record<ScenarioId, ScenarioId>> = {
  'fanout-json': 'fanout',
  'fanout-history': 'fanout',
  'fanout-auth': 'fanout',
  'idle-auth': 'idle',
};
const BROKER_ONLY: ReadonlySet<ScenarioId> = new Set(Object.keys(PLAIN_OF) as ScenarioId[]);
/**
 * The auth scenarios' HMAC secret (the broker wants 32 characters or more) and the token every
 * upgrade presents: HS256, made here with `node:crypto`, granting exactly the bench topics, with an
 * `exp` as real tokens have (the broker then keeps each connection on its one shared expiry clock).
 */
const AUTH_SECRET = 'broker-hono bench secret, 40 characters';
const AUTH_TOKEN = hs256({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 24 * 3600, broker: { sub: ['bench', 'idle'], pub: ['bench'] } }, AUTH_SECRET);
const AUTH_HEADERS = { authorization: `Bearer ${AUTH_TOKEN}` };
/** Extra broker flags a scenario runs with. */
const SCENARIO_ARGS: Partial<Record<ScenarioId, string[]>> = {
  'fanout-history': ['--history-size', '1000'],
  'fanout-auth': ['--jwt-secret', AUTH_SECRET],
  'idle-auth': ['--jwt-secret', AUTH_SECRET],
};

function hs256(payload: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}
const scenarios = flags.scenarios ? (flags.scenarios.split(',') as ScenarioId[]) : ALL_SCENARIOS;

const specs = [...serverSpecs(), ...(flags.compare ? compareSpecs(resolve(flags.compare)) : [])].filter((spec) => !flags.servers || flags.servers.split(',').includes(spec.id));
const runnable = specs.filter((spec) => !spec.unavailable);

interface Sample {
  round: number;
  result?: LoadResult;
  error?: string;
  /** Server CPU seconds per second during the run (1 = one core). */
  serverCpu?: number;
  /** Idle scenario: server resident memory growth per connection, bytes. */
  bytesPerConnection?: number;
}

const results = new Map<string, Map<string, Sample[]>>(); // scenario → server → samples

function basePlan(server: { host: string; port: number }): LoadPlan {
  return {
    host: server.host,
    port: server.port,
    subscribers: settings.subscribers,
    subscribePath: '/sub/bench',
    publishers: 1,
    publishPath: '/pub/bench/fanout',
    fanout: settings.subscribers,
    payload: settings.payload,
    warmupSeconds: settings.warmup,
    durationSeconds: settings.duration,
    rate: 0,
    window: settings.window,
    probes: 20,
    localAddresses: 8,
    connectConcurrency: 200,
  };
}

function planFor(scenario: ScenarioId, spec: ServerSpec, server: { host: string; port: number }): LoadPlan {
  const plan = basePlan(server);
  switch (scenario) {
    case 'fanout':
    case 'fanout-history':
      return plan;
    case 'fanout-json':
      return { ...plan, subscribePath: '/sub/bench?format=json' };
    case 'fanout-auth':
      return { ...plan, headers: AUTH_HEADERS };
    case 'fanout-rate':
      return { ...plan, rate: settings.rate };
    case 'latency-light':
      return { ...plan, rate: 10, warmupSeconds: 1, durationSeconds: settings.latencySeconds };
    case 'latency-half':
      return { ...plan, rate: halfRateFor(spec), warmupSeconds: 1, durationSeconds: settings.latencySeconds };
    case 'many-topics':
      return {
        ...plan,
        subscribers: settings.topics,
        subscribePath: '/sub/many/{i}',
        publishers: settings.publishers,
        publishPath: '/pub/many/{sub}',
        fanout: 1,
        window: settings.manyWindow,
        probes: 50,
        localAddresses: 16,
      };
    case 'few-topics':
      // The many-topics traffic with only the publishers' own topics: the same work per publish
      // with a hundredth of the topics, so the two tables show whether topic count costs anything.
      return { ...planFor('many-topics', spec, server), subscribers: settings.publishers, localAddresses: 4 };
    case 'idle':
      return { ...plan, subscribers: settings.idle, subscribePath: '/sub/idle', publishers: 0, hold: true, localAddresses: 40, probes: 0 };
    case 'idle-auth':
      return { ...planFor('idle', spec, server), headers: AUTH_HEADERS };
  }
}

/** Half the peak fan-out rate of this runtime's naive baseline, in messages per second. */
function halfRateFor(spec: ServerSpec): number {
  const baselineId = spec.baseline ?? spec.id;
  const peak = median((results.get('fanout')?.get(baselineId) ?? []).map((s) => s.result?.publishedPerSecond ?? Number.NaN));
  return Number.isFinite(peak) ? Math.max(10, Math.round(peak / 2)) : 50;
}

async function runOnce(scenario: ScenarioId, spec: ServerSpec, round: number): Promise<Sample> {
  const server = await startServer({ ...spec, args: [...spec.args, ...(SCENARIO_ARGS[scenario] ?? [])] });
  const pid = server.child.pid!;
  try {
    await sleep(300);
    const plan = planFor(scenario, spec, server);
    if (plan.hold) {
      // Warm the server's handshake path first (code loaded and compiled, heap grown for it),
      // so the memory measured next is what the connections hold, not start-up costs.
      await runLoadgen({ ...plan, subscribers: 500 }, async () => {}, () => {});
      await sleep(1000);
    }
    const rssBefore = treeRss(pid);
    let rssAfter = 0;
    let cpuStart = 0;
    let wallStart = 0;
    let serverCpu = Number.NaN;
    const result = await runLoadgen(
      plan,
      async () => {
        await sleep(2000); // let the server settle (and collect garbage from the handshakes)
        rssAfter = treeRss(pid);
      },
      (edge) => {
        if (edge === 'start') {
          cpuStart = treeCpuSeconds(pid);
          wallStart = performance.now();
        } else {
          serverCpu = (treeCpuSeconds(pid) - cpuStart) / ((performance.now() - wallStart) / 1000);
        }
      },
    );
    const sample: Sample = { round, result, serverCpu };
    if (plan.hold) sample.bytesPerConnection = (rssAfter - rssBefore) / plan.subscribers;
    return sample;
  } catch (error) {
    return { round, error: error instanceof Error ? error.message : String(error) };
  } finally {
    await server.stop();
  }
}

function runLoadgen(plan: LoadPlan, whileHeld: () => Promise<void>, onWindow: (edge: 'start' | 'end') => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench', 'loadgen', 'main.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.on('message', async (message: { connected?: number; window?: 'start' | 'end'; result?: LoadResult; error?: string }) => {
      if (message.window) onWindow(message.window);
      else if (message.connected !== undefined) {
        await whileHeld();
        child.send({ release: true });
      } else if (message.result) {
        settled = true;
        resolve(message.result);
      } else if (message.error) {
        settled = true;
        reject(new Error(message.error));
      }
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`load generator exited with ${code}`));
    });
    child.send({ plan });
  });
}

// --- statistics and the table ---------------------------------------------------------------

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const fmtInt = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
const fmtMs = (value: number) => (Number.isFinite(value) ? (value < 10 ? value.toFixed(2) : value.toFixed(1)) : '—');
const fmtRatio = (value: number) => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)}×` : '—');

interface Column {
  title: string;
  value(samples: Sample[]): number;
  format(value: number): string;
  /** Show a ratio against the baseline in the next column. */
  ratio?: boolean;
}

const COLUMNS: Record<ScenarioId, Column[]> = {
  fanout: [
    { title: 'delivered/s', value: (s) => median(s.map((x) => x.result?.deliveredPerSecond ?? Number.NaN)), format: fmtInt, ratio: true },
    { title: 'p99 ms', value: (s) => median(s.map((x) => x.result?.latencyMs.p99 ?? Number.NaN)), format: fmtMs },
    { title: 'server CPU', value: (s) => median(s.map((x) => x.serverCpu ?? Number.NaN)), format: (v) => (Number.isFinite(v) ? v.toFixed(2) : '—') },
    { title: 'loadgen CPU', value: (s) => median(s.map((x) => x.result?.loadgenCpu ?? Number.NaN)), format: (v) => (Number.isFinite(v) ? v.toFixed(2) : '—') },
  ],
  'fanout-json': [],
  'fanout-history': [],
  'fanout-auth': [],
  'fanout-rate': [],
  'latency-light': [
    { title: 'p50 ms', value: (s) => median(s.map((x) => x.result?.latencyMs.p50 ?? Number.NaN)), format: fmtMs },
    { title: 'p99 ms', value: (s) => median(s.map((x) => x.result?.latencyMs.p99 ?? Number.NaN)), format: fmtMs, ratio: true },
    { title: 'delivered/s', value: (s) => median(s.map((x) => x.result?.deliveredPerSecond ?? Number.NaN)), format: fmtInt },
  ],
  'latency-half': [],
  'many-topics': [],
  'few-topics': [],
  'idle-auth': [],
  idle: [
    { title: 'KB/connection', value: (s) => median(s.map((x) => (x.bytesPerConnection ?? Number.NaN) / 1024)), format: (v) => (Number.isFinite(v) ? v.toFixed(2) : '—'), ratio: true },
    { title: 'connect s', value: (s) => median(s.map((x) => (x.result?.connectMs ?? Number.NaN) / 1000)), format: (v) => (Number.isFinite(v) ? v.toFixed(2) : '—'), ratio: true },
  ],
};
// A feature's fan-out tables add deliveries per second of server CPU: on a shared machine the
// server's share of the cores swings between runs, and this ratio swings less than throughput.
COLUMNS['fanout-json'] = [
  ...COLUMNS.fanout,
  {
    title: 'delivered per CPU-s',
    value: (s) => median(s.map((x) => (x.result && x.serverCpu ? x.result.deliveredPerSecond / x.serverCpu : Number.NaN))),
    format: fmtInt,
    ratio: true,
  },
];
COLUMNS['fanout-history'] = COLUMNS['fanout-json'];
COLUMNS['fanout-auth'] = COLUMNS['fanout-json'];
COLUMNS['idle-auth'] = COLUMNS.idle;
COLUMNS['fanout-rate'] = COLUMNS['latency-light'];
COLUMNS['latency-half'] = COLUMNS['latency-light'];
COLUMNS['many-topics'] = COLUMNS.fanout;
COLUMNS['few-topics'] = COLUMNS.fanout;

const TITLES: Record<ScenarioId, () => string> = {
  fanout: () => `Fan-out: 1 publisher → ${fmtInt(settings.subscribers)} subscribers of a parent topic, ${settings.payload}-byte messages, as fast as a window of ${settings.window} in-flight messages allows`,
  'fanout-json': () =>
    `Fan-out with \`?format=json\` subscribers (each message a JSON envelope with its id), otherwise as fan-out, window ${settings.window}; ratio against the same broker's raw fan-out`,
  'fanout-history': () => `Fan-out with history kept (\`--history-size 1000\`), raw subscribers, window ${settings.window}; ratio against the same broker's raw fan-out`,
  'fanout-auth': () =>
    `Fan-out with auth on (\`--jwt-secret\`; every upgrade presents an HS256 token in \`Authorization: Bearer\`), raw subscribers, window ${settings.window}; ratio against the same broker's raw fan-out`,
  'fanout-rate': () => `Fan-out at a fixed ${fmtInt(settings.rate)} messages/s into ${fmtInt(settings.subscribers)} subscribers`,
  'latency-light': () => `Latency at light load: 10 messages/s into ${fmtInt(settings.subscribers)} subscribers (publish → receive)`,
  'latency-half': () => `Latency at half of the naive baseline's peak rate (each runtime's own baseline), ${fmtInt(settings.subscribers)} subscribers`,
  'many-topics': () => `Many topics: ${fmtInt(settings.topics)} subscribers on distinct topics, ${settings.publishers} publishers (one subscriber each, up to ${settings.manyWindow} messages in flight each)`,
  'few-topics': () => `Few topics: the many-topics traffic with only its ${settings.publishers} targeted subscribers (compare: publish cost should not depend on the topic count)`,
  idle: () => `Idle connections: ${fmtInt(settings.idle)} subscribers held open (server memory growth per connection; time to connect them all)`,
  'idle-auth': () =>
    `Idle connections with auth on: ${fmtInt(settings.idle)} subscribers, each upgrade verifying an HS256 token (with \`exp\`: each connection on the shared expiry clock); ratios against the same broker's idle`,
};

function table(scenario: ScenarioId): string {
  const columns = COLUMNS[scenario];
  const bySever = results.get(scenario) ?? new Map<string, Sample[]>();
  const header = ['server', 'runs'];
  const ratioTitle = PLAIN_OF[scenario] === 'fanout' ? 'vs raw fan-out' : PLAIN_OF[scenario] ? `vs ${PLAIN_OF[scenario]}` : 'vs baseline';
  for (const column of columns) header.push(column.title, ...(column.ratio ? [ratioTitle] : []));
  const lines = [`### ${TITLES[scenario]()}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const spec of specs) {
    if (BROKER_ONLY.has(scenario) && !isBroker(spec)) continue;
    if (spec.unavailable) {
      lines.push(`| ${spec.label} | — | ${spec.unavailable} |`);
      continue;
    }
    const samples = bySever.get(spec.id) ?? [];
    const ok = samples.filter((s) => s.result);
    // A broker-only scenario's ratio is against the same server's plain scenario (raw fan-out, idle).
    const plain = PLAIN_OF[scenario];
    const baselineSamples = plain ? results.get(plain)?.get(spec.id) : bySever.get(spec.baseline ?? '');
    const baseline = baselineSamples?.filter((s) => s.result) ?? [];
    const hasBaseline = BROKER_ONLY.has(scenario) || spec.baseline !== undefined;
    const cells = [spec.label, `${ok.length}${samples.length > ok.length ? ` (+${samples.length - ok.length} failed)` : ''}`];
    for (const column of columns) {
      const value = column.value(ok);
      cells.push(column.format(value));
      if (column.ratio) cells.push(hasBaseline && baseline.length ? fmtRatio(value / column.value(baseline)) : hasBaseline ? '—' : '1.00× (baseline)');
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = noteLines(scenario);
  return [...lines, ...notes].join('\n');
}

function noteLines(scenario: ScenarioId): string[] {
  const notes: string[] = [];
  for (const [id, samples] of results.get(scenario) ?? []) {
    for (const sample of samples) {
      if (sample.error) notes.push(`- ${id} round ${sample.round}: failed: ${sample.error.split('\n')[0]}`);
      const closes = sample.result?.closes ?? {};
      if (Object.keys(closes).length) notes.push(`- ${id} round ${sample.round}: server closed subscribers: ${JSON.stringify(closes)}`);
    }
  }
  if (scenario === 'latency-half') {
    const rates = runnable.map((spec) => `${spec.id} ${fmtInt(halfRateFor(spec))}/s`);
    notes.push(`- publish rates: ${rates.join(', ')}`);
  }
  return notes.length ? ['', ...notes] : [];
}

function machine(): string {
  const list = cpus();
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return 'n/a';
    }
  };
  return [
    `${list.length} cores (${list[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM`,
    `Node ${process.version}, Bun ${version(join(ROOT, 'node_modules', '.bin', 'bun'), ['--version'])}, ${version(join(ROOT, 'node_modules', '.bin', 'deno'), ['--version'])}`,
    `${settings.rounds} alternating round(s), ${settings.duration} s measured after ${settings.warmup} s warm-up; medians`,
  ].join('; ');
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  process.stderr.write(`${command}\n${machine()}\n`);
  for (const spec of specs) if (spec.unavailable) process.stderr.write(`skipping ${spec.id}: ${spec.unavailable}\n`);
  for (const scenario of scenarios) {
    const plain = PLAIN_OF[scenario];
    if (plain && !scenarios.includes(plain)) process.stderr.write(`${scenario} is compared with ${plain}, which this run leaves out: its ratios will be —\n`);
  }
  for (const scenario of scenarios) results.set(scenario, new Map<string, Sample[]>());
  // A feature scenario runs in the same rounds as its plain one (fanout-json, -history and -auth
  // with fanout; idle-auth with idle), so a change in the machine's load between scenarios does
  // not show up as the feature's cost.
  const groups = new Map<ScenarioId, ScenarioId[]>();
  for (const scenario of scenarios) {
    const plain = PLAIN_OF[scenario];
    const root = plain && scenarios.includes(plain) ? plain : scenario;
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root)!.push(scenario);
  }
  for (const group of groups.values()) {
    for (let round = 1; round <= settings.rounds; round++) {
      for (const scenario of rotate(group, round)) {
        const byServer = results.get(scenario)!;
        const servers = BROKER_ONLY.has(scenario) ? runnable.filter(isBroker) : runnable;
        // Rotate the order each round so no server always runs first (or right after another).
        for (const spec of rotate(servers, round)) {
          const sample = await runOnce(scenario, spec, round);
          if (!byServer.has(spec.id)) byServer.set(spec.id, []);
          byServer.get(spec.id)!.push(sample);
          process.stderr.write(`${scenario} round ${round} ${spec.id}: ${summary(scenario, sample)}\n`);
        }
      }
    }
  }
  const out = [
    `## broker-hono benchmark`,
    '',
    `\`${command}\``,
    '',
    machine(),
    '',
    ...scenarios.flatMap((scenario) => [table(scenario), '']),
  ].join('\n');
  process.stdout.write(out + '\n');
  const jsonPath = flags.json ?? join(ROOT, '.bench-out', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ command, machine: machine(), settings, results: Object.fromEntries([...results].map(([k, v]) => [k, Object.fromEntries(v)])) }, null, 2));
  process.stderr.write(`raw results: ${jsonPath}\n`);
  if (flags.cluster) {
    process.stdout.write('\n### Cluster (Redis): `npm run bench:cluster`\n\n');
    await new Promise<void>((resolve) => {
      const child = fork(join(ROOT, 'bench', 'cluster.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
      child.once('exit', () => resolve());
    });
  }
}

/** The list started at a different place each round. */
function rotate<T>(list: readonly T[], round: number): T[] {
  return list.map((_, i) => list[(i + round - 1) % list.length]!);
}

function isBroker(spec: ServerSpec): boolean {
  return spec.id.startsWith('broker-');
}

function summary(scenario: ScenarioId, sample: Sample): string {
  if (sample.error) return `FAILED ${sample.error.split('\n')[0]}`;
  const r = sample.result!;
  const closes = Object.keys(r.closes).length ? ` closes ${JSON.stringify(r.closes)}` : '';
  if (scenario === 'idle' || scenario === 'idle-auth') return `${((sample.bytesPerConnection ?? 0) / 1024).toFixed(2)} KB/conn, connect ${(r.connectMs / 1000).toFixed(2)} s${closes}`;
  return `${fmtInt(r.deliveredPerSecond)} delivered/s (${fmtInt(r.publishedPerSecond)} published/s), p50 ${fmtMs(r.latencyMs.p50)} ms p99 ${fmtMs(r.latencyMs.p99)} ms, server CPU ${sample.serverCpu?.toFixed(2)}, loadgen CPU ${r.loadgenCpu.toFixed(2)}${closes}`;
}

await main();
