/**
 * Soak: minutes of mixed traffic against the real CLI, with slow and dying clients among healthy
 * ones, then a report: messages in and out, dropped by policy (slow consumers cut, full push
 * queues refused, oversize frames refused), disconnects by close code, the server's peak RSS and
 * its heap after a full GC, and whether healthy subscribers lost anything. Not part of `npm test`.
 *
 * ```sh
 * npm run soak                    # about 3 minutes
 * npm run soak -- --duration 30   # seconds
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'broker-hono.js');

const durationArg = process.argv.indexOf('--duration');
const DURATION_S = Number(durationArg !== -1 ? process.argv[durationArg + 1] : (process.env.SOAK_SECONDS ?? 180));
if (!(DURATION_S > 0)) throw new Error('--duration must be a positive number of seconds');

const LIMITS = {
  maxMessageSize: 64 * 1024,
  maxBufferedBytes: 512 * 1024,
  pushQueueLimit: 500,
  // Long enough that a paused reader trips the backlog limit before it misses two pings.
  pingInterval: 10,
};
const TOPICS = 8;

// --- tallies ------------------------------------------------------------------------------------
const tally = {
  published: 0, // frames and POSTs the broker accepted for pub/sub
  busSent: 0,
  pushedAccepted: 0,
  pushRefused503: 0,
  overflowSent: 0,
  overflowPulled: 0,
  pusherClosed1013: 0,
  oversizeClosed1009: 0,
  oversizePost413: 0,
  healthyReceived: 0,
  healthyGaps: 0,
  healthyClosedUnexpectedly: 0,
  pulled: 0,
  busReceived: 0,
  slowOpened: 0,
  slowClosed1013: 0,
  slowClosedOther: 0,
  dyingOpened: 0,
  frozenChildren: 0,
  rawResets: 0,
  closes: new Map<number, number>(),
};

function countClose(code: number): void {
  tally.closes.set(code, (tally.closes.get(code) ?? 0) + 1);
}

// --- the broker ---------------------------------------------------------------------------------
interface Broker {
  child: ChildProcess;
  http: string;
  ws: string;
  pid: number;
}

function startBroker(): Promise<Broker> {
  const args = [
    '--expose-gc',
    CLI,
    '-l', 'http://127.0.0.1:0',
    '-m', 'production',
    '-c', '20000',
    '--max-message-size', String(LIMITS.maxMessageSize),
    '--max-buffered-bytes', String(LIMITS.maxBufferedBytes),
    '--push-queue-limit', String(LIMITS.pushQueueLimit),
    '--ping-interval', String(LIMITS.pingInterval),
    '-i', '60',
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BROKER_DEBUG_HEAP: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let logLines = 0;
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      logLines += chunk.toString().split('\n').length - 1;
      brokerLogLines = logLines;
      if (/^\s+at\s/m.test(chunk.toString())) stackTraces++;
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /Listening at http:\/\/([^\s:]+):(\d+)/.exec(output);
      if (match) resolve({ child, http: `http://127.0.0.1:${match[2]}`, ws: `ws://127.0.0.1:${match[2]}`, pid: child.pid! });
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}: ${output}`)));
  });
}

let brokerLogLines = 0;
let stackTraces = 0;

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

/** POST on a connection of its own; resolves with the status (0 when the connection failed). */
function post(url: string, body: string | Buffer, contentType = 'text/plain'): Promise<number> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': contentType, connection: 'close' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', () => resolve(0));
    request.end(body);
  });
}

// --- clients ------------------------------------------------------------------------------------
const sockets = new Set<WebSocket>();
const timers: Array<ReturnType<typeof setInterval>> = [];
let stopping = false;

function socket(url: string, onClose?: (code: number) => void): WebSocket {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  sockets.add(ws);
  ws.on('error', () => {});
  ws.on('close', (code) => {
    sockets.delete(ws);
    countClose(code);
    onClose?.(code);
  });
  return ws;
}

function every(ms: number, work: () => void): void {
  timers.push(setInterval(() => !stopping && work(), ms));
}

const random = (n: number) => Math.floor(Math.random() * n);

/** A message `publisher:sequence:padding`, so receivers can tell a gap from a reordering. */
function message(publisher: string, sequence: number): string {
  return `${publisher}:${sequence}:${'x'.repeat(50 + random(2000))}`;
}

/** Healthy subscribers: read everything, check that every publisher's sequence has no gap. */
function healthySubscriber(broker: Broker, topic: string): void {
  const last = new Map<string, number>();
  const ws = socket(`${broker.ws}/sub/${topic}`, () => {
    if (!stopping) tally.healthyClosedUnexpectedly++;
  });
  ws.on('message', (data) => {
    tally.healthyReceived++;
    const text = data.toString();
    const first = text.indexOf(':');
    const publisher = text.slice(0, first);
    const sequence = Number(text.slice(first + 1, text.indexOf(':', first + 1)));
    const previous = last.get(publisher);
    if (previous !== undefined && sequence !== previous + 1) tally.healthyGaps++;
    last.set(publisher, sequence);
  });
}

/** A publisher socket on `topic` sending `perSecond` messages while the run lasts. */
function steadyPublisher(broker: Broker, name: string, topic: string, perSecond: number): void {
  let sequence = 0;
  const ws = socket(`${broker.ws}/pub/${topic}`);
  ws.on('open', () =>
    every(1000 / perSecond, () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(message(name, sequence++));
      tally.published++;
    }),
  );
}

/** Like `steadyPublisher`, with messages of `bytes` each. */
function bulkPublisher(broker: Broker, topic: string, perSecond: number, bytes: number): void {
  let sequence = 0;
  const ws = socket(`${broker.ws}/pub/${topic}`);
  ws.on('open', () =>
    every(1000 / perSecond, () => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const head = `bulk:${sequence++}:`;
      ws.send(head + 'b'.repeat(bytes - head.length));
      tally.published++;
    }),
  );
}

/** Subscribes to the bulk topic and stops reading (its socket paused): must be cut with 1013. */
function slowSubscriber(broker: Broker): void {
  tally.slowOpened++;
  const ws = socket(`${broker.ws}/sub/soak/bulk`, (code) => {
    if (code === 1013) tally.slowClosed1013++;
    else tally.slowClosedOther++;
  });
  ws.on('open', () => {
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    // Reads again after a while (before it has missed two pings and is cut as unresponsive):
    // it drains the backlog, then finds the 1013 close.
    setTimeout(() => raw.resume(), 7000 + random(2500));
  });
}

/** A client that goes away abruptly at a random moment, on a random route. */
function dyingClient(broker: Broker): void {
  tally.dyingOpened++;
  const route = ['sub', 'pub', 'bus', 'pull', 'push'][random(5)]!;
  const ws = socket(`${broker.ws}/${route}/soak/${random(TOPICS)}`);
  const lifetime = random(3000);
  setTimeout(() => {
    if (random(2)) ws.terminate();
    else (ws as unknown as { _socket?: Socket })._socket?.resetAndDestroy();
  }, lifetime);
}

/** A raw TCP connection that sends half an upgrade and resets. */
function halfOpen(broker: Broker): void {
  const url = new URL(broker.http);
  const s = connect(Number(url.port), url.hostname, () => {
    s.write('GET /sub/soak/0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    setTimeout(() => {
      tally.rawResets++;
      s.resetAndDestroy();
    }, random(1000));
  });
  s.on('error', () => {});
}

/** A subscriber in its own process, frozen with SIGSTOP: the pings must find it dead. */
function frozenChild(broker: Broker): void {
  tally.frozenChildren++;
  const script = `import WebSocket from 'ws'; const s = new WebSocket(${JSON.stringify(`${broker.ws}/sub/soak/0`)}); s.on('open', () => console.log('open')); s.on('error', () => {});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout!.once('data', () => {
    child.kill('SIGSTOP');
    setTimeout(() => child.kill('SIGKILL'), LIMITS.pingInterval * 3000 + 2000);
  });
}

// --- the run ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const broker = await startBroker();
  const heapStart = await getJson<{ heapUsed: number; rss: number }>(`${broker.http}/debug/heap`);
  const rssSamples: number[] = [];
  console.log(`soak: ${DURATION_S} s against ${broker.http} (pid ${broker.pid}), limits ${JSON.stringify(LIMITS)}`);

  for (let i = 0; i < 40; i++) healthySubscriber(broker, i % 5 === 0 ? 'soak' : `soak/${i % TOPICS}`);
  for (let i = 0; i < 2; i++) healthySubscriber(broker, 'soak/bulk');
  for (let p = 0; p < 4; p++) steadyPublisher(broker, `ws${p}`, `soak/${p * 2}`, 100);
  // The bulk topic carries big messages: what backs a stalled reader up past maxBufferedBytes.
  bulkPublisher(broker, 'soak/bulk', 80, 16 * 1024);

  // POST publishers, one sequence per topic.
  const postSequences = new Map<number, number>();
  every(20, () => {
    const topic = random(TOPICS);
    const sequence = postSequences.get(topic) ?? 0;
    postSequences.set(topic, sequence + 1);
    // Sequential per topic: a POST that overtook an earlier one would look like a gap.
    tally.published++;
    void post(`${broker.http}/pub/soak/${topic}`, message(`post${topic}`, sequence));
  });

  // Bus: four chatty peers.
  const peers = Array.from({ length: 4 }, () => {
    const ws = socket(`${broker.ws}/bus/soak-room`);
    ws.on('message', () => tally.busReceived++);
    return ws;
  });
  every(50, () => {
    const peer = peers[random(peers.length)]!;
    if (peer.readyState === WebSocket.OPEN) {
      peer.send(`chat ${Date.now()}`);
      tally.busSent++;
    }
  });

  // Push/pull: POSTs all along; pullers that come and go, so the queue fills and refuses.
  every(10, () => {
    void post(`${broker.http}/push/soak-jobs`, `job ${Date.now()}`).then((status) => {
      if (status === 200) tally.pushedAccepted++;
      else if (status === 503) tally.pushRefused503++;
    });
  });
  every(7000, () => {
    const puller = socket(`${broker.ws}/pull/soak-jobs`);
    puller.on('message', () => tally.pulled++);
    setTimeout(() => puller.close(), 2500);
  });
  // A WebSocket pusher that pushes into a full queue: closed with 1013.
  every(9000, () => {
    const pusher = socket(`${broker.ws}/push/soak-overflow`, (code) => {
      if (code === 1013) tally.pusherClosed1013++;
    });
    pusher.on('open', () => {
      for (let i = 0; i < LIMITS.pushQueueLimit + 5 && pusher.readyState === WebSocket.OPEN; i++) {
        pusher.send(`overflow ${i}`);
        tally.overflowSent++;
      }
    });
  });
  // Its queue is drained now and then (between two pushers), so it can fill and refuse again.
  setTimeout(() => {
    every(9000, () => {
      const drain = socket(`${broker.ws}/pull/soak-overflow`);
      drain.on('message', () => tally.overflowPulled++);
      setTimeout(() => drain.close(1000), 1000);
    });
  }, 4500);

  // Oversize messages: a frame (1009) and a POST (413).
  every(3000, () => {
    const rude = socket(`${broker.ws}/pub/soak/1`, (code) => {
      if (code === 1009) tally.oversizeClosed1009++;
    });
    rude.on('open', () => rude.send(Buffer.alloc(LIMITS.maxMessageSize + 1)));
    void post(`${broker.http}/pub/soak/1`, Buffer.alloc(LIMITS.maxMessageSize + 1), 'application/octet-stream').then((status) => {
      if (status === 413) tally.oversizePost413++;
    });
  });

  every(1500, () => slowSubscriber(broker));
  every(100, () => dyingClient(broker));
  every(500, () => halfOpen(broker));
  every(15_000, () => frozenChild(broker));

  every(500, () => rssSamples.push(procStatus(broker.pid, 'VmRSS')));
  const started = Date.now();
  every(15_000, () => {
    void getJson<Record<string, number>>(`${broker.http}/stats`).then((s) => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      console.log(
        `  ${String(elapsed).padStart(4)} s  connections ${s.connections}  in ${s.messagesIn}  out ${s.messagesOut}  slow cut ${s.slowConsumerDisconnects}  queued ${s.queued}  rss ${mib(procStatus(broker.pid, 'VmRSS'))}`,
      );
    });
  });

  await new Promise((resolve) => setTimeout(resolve, DURATION_S * 1000));
  stopping = true;
  for (const timer of timers) clearInterval(timer);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const beforeClose = await getJson<Record<string, number>>(`${broker.http}/stats`);
  for (const ws of sockets) ws.terminate();
  // Drain the push queues so every live counter can come back to zero.
  for (const topic of ['soak-jobs', 'soak-overflow']) {
    const drain = socket(`${broker.ws}/pull/${topic}`);
    drain.on('message', () => (topic === 'soak-jobs' ? tally.pulled++ : tally.overflowPulled++));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    drain.terminate();
  }
  let after = await getJson<Record<string, number>>(`${broker.http}/stats`);
  for (let i = 0; i < 100 && (after.connections ?? 0) > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await getJson<Record<string, number>>(`${broker.http}/stats`);
  }
  const heapEnd = await getJson<{ heapUsed: number; rss: number }>(`${broker.http}/debug/heap`);
  const peakRss = procStatus(broker.pid, 'VmHWM');
  broker.child.kill('SIGTERM');

  const rows: Array<[string, string | number]> = [
    ['duration', `${DURATION_S} s`],
    ['messages in (broker: accepted from clients)', beforeClose.messagesIn!],
    ['  pub/sub published (WebSocket + POST)', tally.published],
    ['  bus frames sent', tally.busSent],
    ['  push POSTs accepted', tally.pushedAccepted],
    ['  WebSocket pushes sent (into a queue that fills)', tally.overflowSent],
    ['messages out (broker: handed to receivers)', after.messagesOut!],
    ['  received by healthy subscribers', tally.healthyReceived],
    ['  pulled', `${tally.pulled} (POSTed jobs), ${tally.overflowPulled} (WebSocket pushes)`],
    ['  bus frames received', tally.busReceived],
    ['dropped by policy', ''],
    ['  slow consumers cut (1013, /stats)', after.slowConsumerDisconnects!],
    ['  of which seen by paused clients as 1013', `${tally.slowClosed1013} of ${tally.slowOpened} opened (${tally.slowClosedOther} closed otherwise, e.g. by the end of the run)`],
    ['  push POSTs refused (503, queue full)', tally.pushRefused503],
    ['  WebSocket pushers closed (1013, queue full)', tally.pusherClosed1013],
    ['  oversize frames closed (1009)', tally.oversizeClosed1009],
    ['  oversize POSTs refused (413)', tally.oversizePost413],
    ['disconnects seen by clients, by close code', [...tally.closes].sort(([a], [b]) => a - b).map(([code, n]) => `${code}: ${n}`).join(', ')],
    ['  dying clients opened / half-open resets / frozen children', `${tally.dyingOpened} / ${tally.rawResets} / ${tally.frozenChildren}`],
    ['healthy subscribers: gaps / closed unexpectedly', `${tally.healthyGaps} / ${tally.healthyClosedUnexpectedly}`],
    ['server RSS: start / peak (VmHWM) / end', `${mib(heapStart.rss)} / ${mib(peakRss)} / ${mib(rssSamples.at(-1) ?? 0)}`],
    ['server heap after GC: start / end', `${mib(heapStart.heapUsed)} / ${mib(heapEnd.heapUsed)}`],
    ['live counters after every client left', ['connections', 'subscribers', 'publishers', 'peers', 'pushers', 'pullers', 'topics', 'queued'].map((k) => `${k} ${after[k]}`).join(', ')],
    ['broker log lines / stack traces', `${brokerLogLines} / ${stackTraces}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log('');
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
  process.exit(0);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
