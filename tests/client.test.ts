/**
 * The client library (src/client/, `broker-hono/client`): every pattern against a real broker
 * (subscribe with ids and topics, text and binary, `for await`, resume with `since` and the gap
 * callback, bus, push/pull, refusals), and against a scripted WebSocket what it sends where: the
 * derived ws(s):// URL, the token asked for on every connection, the resume point.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createClient, type Gap, type Message, type WebSocketLike } from '../src/client/index.ts';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { waitUntil } from './helpers/checks.ts';

let server: RunningServer;
before(async () => {
  server = await nodeCli(['--history-size', '5', '--push-queue-limit', '1']);
});
after(async () => {
  await server.stop('SIGKILL');
});

function client() {
  const made = createClient(server.httpUrl, { WebSocket, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
  after(() => made.close());
  return made;
}

async function opened(subscribe: (onStatus: (status: string) => void) => unknown): Promise<void> {
  let open = false;
  subscribe((status) => (open ||= status === 'open'));
  await waitUntil('the connection to open', () => open);
}

describe('client against a broker', () => {
  it('subscribe: text and binary with their id, topic and time; a for-await loop sees them too', async () => {
    const broker = client();
    const got: Message[] = [];
    let subscription!: ReturnType<typeof broker.subscribe>;
    await opened((onStatus) => (subscription = broker.subscribe('wong', (data, meta) => got.push({ data, meta }), { onStatus })));
    const looped: Message[] = [];
    const loop = (async () => {
      for await (const message of subscription) looped.push(message);
    })();
    await broker.publish('wong/amy', 'hello amy');
    await broker.publish('wong', new Uint8Array([0, 1, 254, 255]));
    await waitUntil('two messages', () => got.length === 2 && looped.length === 2);
    assert.equal(got[0]!.data, 'hello amy');
    assert.deepEqual({ ...got[0]!.meta, id: undefined, time: undefined }, { id: undefined, topic: 'wong/amy', time: undefined, binary: false });
    assert.deepEqual(got[1]!.data, new Uint8Array([0, 1, 254, 255]));
    assert.equal(got[1]!.meta.binary, true);
    assert.equal(got[1]!.meta.topic, 'wong');
    assert.match(got[0]!.meta.id, /^[0-9a-z]+-1$/);
    assert.match(got[1]!.meta.id, /^[0-9a-z]+-2$/);
    assert.ok(Math.abs(got[0]!.meta.time - Date.now()) < 5000);
    assert.deepEqual(looped, got);
    assert.equal(subscription.lastId, got[1]!.meta.id);
    assert.deepEqual(looped.map((m) => m.meta.id.split('-')[1]), ['1', '2'], 'the start position is not a message');
    subscription.close();
    await loop; // close() ends the loop
    assert.equal(subscription.closed, true);
  });

  it('subscribe with since: the gap first (with its count), then what history holds, then live', async () => {
    const broker = client();
    const first: Message[] = [];
    let subscription!: ReturnType<typeof broker.subscribe>;
    await opened((onStatus) => (subscription = broker.subscribe('resume', (data, meta) => first.push({ data, meta }), { onStatus })));
    // Before any message, its resume point is its start position: offset 0 of resume's new stream.
    await waitUntil('the start position', () => subscription.lastId !== undefined);
    assert.match(subscription.lastId!, /^[0-9a-z]+-0$/);
    await broker.publish('resume', 'm1');
    await waitUntil('m1', () => first.length === 1);
    subscription.close();
    for (let i = 2; i <= 9; i++) await broker.publish('resume', `m${i}`);
    const events: Array<string | Gap> = [];
    await opened((onStatus) =>
      broker.subscribe('resume', (data) => events.push(String(data)), { since: first[0]!.meta.id, onGap: (gap) => events.push(gap), onStatus }),
    );
    await broker.publish('resume', 'm10');
    await waitUntil('m10', () => events.at(-1) === 'm10');
    const epoch = first[0]!.meta.id.split('-')[0];
    assert.deepEqual(events, [
      { topic: 'resume', since: first[0]!.meta.id, reason: 'trimmed', missed: 3, until: `${epoch}-4` },
      'm5',
      'm6',
      'm7',
      'm8',
      'm9',
      'm10',
    ]);
  });

  it('bus: peers hear each other, echo on request', async () => {
    const broker = client();
    const heard: string[] = [];
    let amy!: ReturnType<typeof broker.bus>;
    await opened((onStatus) => (amy = broker.bus('room', (data, meta) => heard.push(`amy: ${data} on ${meta.topic}`), { echo: true, onStatus })));
    let leo!: ReturnType<typeof broker.bus>;
    await opened((onStatus) => (leo = broker.bus('room', (data) => heard.push(`leo: ${data}`), { onStatus })));
    amy.send('hi from amy');
    leo.send('hi from leo');
    await waitUntil('three deliveries', () => heard.length === 3);
    assert.deepEqual(heard.sort(), ['amy: hi from amy on room', 'amy: hi from leo on room', 'leo: hi from amy']);
  });

  it('push/pull: round robin over the pullers; a refused push rejects with the broker\'s reason', async () => {
    const broker = client();
    const got: string[] = [];
    await opened((onStatus) => broker.pull('jobs', (data) => got.push(`p0 ${data}`), { onStatus }));
    await opened((onStatus) => broker.pull('jobs', (data) => got.push(`p1 ${data}`), { onStatus }));
    for (const job of ['j1', 'j2', 'j3']) await broker.push('jobs', job);
    await waitUntil('three jobs', () => got.length === 3);
    assert.deepEqual(got, ['p0 j1', 'p1 j2', 'p0 j3']);
    await broker.push('nobody/pulls', 'waits');
    await assert.rejects(broker.push('nobody/pulls', 'refused'), /push nobody\/pulls: 503 push queue for "nobody\/pulls" is full/);
    await assert.rejects(broker.publish('bad//topic', 'x'), /pub bad\/\/topic: 400 topic has an empty segment/);
  });
});

/** A scripted WebSocket: records each URL, and lets the test open, feed and cut it. */
class ScriptedSocket implements WebSocketLike {
  static made: ScriptedSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: unknown[] = [];
  constructor(readonly url: string) {
    ScriptedSocket.made.push(this);
  }
  send(data: unknown): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  feed(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  cut(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
}

describe('client, what it sends where', () => {
  it('derives wss:// from https://, encodes topics, asks for a token on every connection and resumes from the last id', async () => {
    ScriptedSocket.made = [];
    let tokens = 0;
    const requests: Array<{ url: string; init: RequestInit }> = [];
    const broker = createClient('https://broker.example.com:8443/t/acme/broker/', {
      WebSocket: ScriptedSocket,
      getToken: async () => `token${++tokens}`,
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
      fetch: async (url, init) => {
        requests.push({ url: String(url), init: init! });
        return new Response(null, { status: 200 });
      },
    });
    const gaps: Gap[] = [];
    const subscription = broker.subscribe('café/50%', () => {}, { since: 'e1-3', onGap: (gap) => gaps.push(gap) });
    await waitUntil('a socket', () => ScriptedSocket.made.length === 1);
    const [first] = ScriptedSocket.made;
    assert.equal(first!.url, 'wss://broker.example.com:8443/t/acme/broker/sub/caf%C3%A9/50%25?format=json&since=e1-3&access_token=token1');
    first!.open();
    assert.equal(first!.binaryType, 'arraybuffer');
    first!.feed({ type: 'gap', topic: 'café/50%', since: 'e1-3', reason: 'trimmed', missed: 2, until: 'e1-5' });
    assert.equal(subscription.lastId, 'e1-5', 'a gap moves the resume point past what is known lost');
    first!.cut();
    await waitUntil('a second socket', () => ScriptedSocket.made.length === 2);
    assert.equal(ScriptedSocket.made[1]!.url, 'wss://broker.example.com:8443/t/acme/broker/sub/caf%C3%A9/50%25?format=json&since=e1-5&access_token=token2');
    ScriptedSocket.made[1]!.open();
    ScriptedSocket.made[1]!.feed({ id: 'e1-6', topic: 'café/50%/x', data: 'hi', time: 1 });
    ScriptedSocket.made[1]!.cut();
    await waitUntil('a third socket', () => ScriptedSocket.made.length === 3);
    assert.match(ScriptedSocket.made[2]!.url, /\?format=json&since=e1-6&access_token=token3$/);
    assert.deepEqual(gaps, [{ topic: 'café/50%', since: 'e1-3', reason: 'trimmed', missed: 2, until: 'e1-5' }]);

    const peer = broker.bus('room', () => {}, { echo: true });
    await waitUntil('the bus socket', () => ScriptedSocket.made.length === 4);
    const busSocket = ScriptedSocket.made[3]!;
    assert.match(busSocket.url, /^wss:\/\/broker\.example\.com:8443\/t\/acme\/broker\/bus\/room\?format=json&echo=1&access_token=token\d$/);
    peer.send('queued while connecting');
    busSocket.open();
    assert.deepEqual(busSocket.sent, ['queued while connecting']);

    await broker.publish('a/b', new Uint8Array([1, 2]));
    assert.equal(requests[0]!.url, 'https://broker.example.com:8443/t/acme/broker/pub/a/b');
    assert.deepEqual(requests[0]!.init.headers, { 'content-type': 'application/octet-stream', authorization: `Bearer token${tokens}` });

    broker.close();
    const count = ScriptedSocket.made.length;
    ScriptedSocket.made[2]!.cut();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(ScriptedSocket.made.length, count, 'closed: no reconnecting');
    assert.equal(subscription.closed, true);
  });

  it('a fresh subscription takes its start position as its resume point, never over an id, and never as a message', async () => {
    ScriptedSocket.made = [];
    const broker = createClient('http://localhost:1', { WebSocket: ScriptedSocket, reconnect: { initialDelayMs: 1, maxDelayMs: 1 } });
    const handled: unknown[] = [];
    const subscription = broker.subscribe('t', (data) => handled.push(data));
    const looped: Message[] = [];
    const loop = (async () => {
      for await (const message of subscription) looped.push(message);
    })();
    await waitUntil('a socket', () => ScriptedSocket.made.length === 1);
    assert.equal(ScriptedSocket.made[0]!.url, 'ws://localhost:1/sub/t?format=json');
    ScriptedSocket.made[0]!.open();
    ScriptedSocket.made[0]!.feed({ type: 'position', topic: 't', id: 'e2-0' });
    assert.equal(subscription.lastId, 'e2-0');
    ScriptedSocket.made[0]!.cut(); // before its first message
    await waitUntil('a second socket', () => ScriptedSocket.made.length === 2);
    assert.equal(ScriptedSocket.made[1]!.url, 'ws://localhost:1/sub/t?format=json&since=e2-0');
    ScriptedSocket.made[1]!.open();
    ScriptedSocket.made[1]!.feed({ id: 'e2-1', topic: 't', data: 'one', time: 1 });
    // A stray position after a message (the broker sends none on a resume) does not move it back.
    ScriptedSocket.made[1]!.feed({ type: 'position', topic: 't', id: 'e2-0' });
    assert.equal(subscription.lastId, 'e2-1');
    broker.close();
    await loop;
    assert.deepEqual(handled, ['one'], 'the handler never sees a position');
    assert.deepEqual(looped.map((m) => m.data), ['one'], 'nor does a for-await loop');
  });

  it('backs off exponentially with jitter while connections fail, and starts over once one opens', async () => {
    ScriptedSocket.made = [];
    const broker = createClient('http://localhost:1', { WebSocket: ScriptedSocket, reconnect: { initialDelayMs: 40, maxDelayMs: 160 } });
    broker.subscribe('t');
    const at: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await waitUntil(`attempt ${attempt}`, () => ScriptedSocket.made.length === attempt, 2000);
      at.push(performance.now());
      ScriptedSocket.made[attempt - 1]!.cut();
    }
    const pauses = at.slice(1).map((time, i) => time - at[i]!);
    // Each pause is half the backoff plus up to half again: 40 → [20, 40], 80 → [40, 80], then 160.
    const bounds: Array<[number, number]> = [[20, 40], [40, 80], [80, 160], [80, 160]];
    pauses.forEach((pause, i) => assert.ok(pause >= bounds[i]![0] - 2 && pause <= bounds[i]![1] + 60, `pause ${i}: ${pause} ms`));
    ScriptedSocket.made[4]!.cut();
    await waitUntil('attempt 6', () => ScriptedSocket.made.length === 6, 2000);
    ScriptedSocket.made[5]!.open();
    const opened = performance.now();
    ScriptedSocket.made[5]!.cut();
    await waitUntil('attempt 7', () => ScriptedSocket.made.length === 7, 2000);
    assert.ok(performance.now() - opened <= 40 + 60, 'after an open the backoff starts over');
    broker.close();
  });
});
