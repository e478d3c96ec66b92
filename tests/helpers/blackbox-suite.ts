/**
 * The black-box suite: the README's Protocol as seen by a client, run against any way of starting
 * the broker (the Node CLI, Deno, Bun, a broker mounted inside another Hono app, a cluster of two
 * nodes). It talks only HTTP and WebSocket to `server.httpUrl` / `server.wsUrl` (mount prefix
 * included) and passes the launcher only CLI flags every runtime's entrypoint understands, so it
 * runs unchanged everywhere.
 *
 * ```ts
 * import { defineBlackboxSuite } from './helpers/blackbox-suite.ts';
 * import { nodeCli } from './helpers/server.ts';
 * defineBlackboxSuite('node CLI', nodeCli);
 * ```
 *
 * A cluster (helpers/cluster.ts) takes its receivers (subscribers, pullers, bus peers) and plain
 * GETs on node A and its senders (publishers, pushers, every POST) on node B, and counts live
 * things over both nodes and Redis; the suite does not know more of it than that.
 *
 * "Receives nothing" is checked with a sentinel where the receiver can receive at all: after the
 * message under test has reached the clients that should get it, a second message is sent that
 * the client must get, and it must be the first thing that client got. The broker handles frames
 * in order on one event loop and each socket is one ordered stream, so this is exact, not timed.
 * In a cluster every publisher, pusher and POST is on node B (bus peers send too, all on node A):
 * what node B handled first reaches node A first (one Redis connection each way, in order), so the
 * sentinels stay exact. (A node's own messages coming back from Redis twice is a cluster matter,
 * checked in cluster.test.ts.) A socket that receives no messages (a publisher's) gets a ping
 * instead: its pong comes after anything the broker wrote to it before.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientOptions } from 'ws';
import type { BrokerStats } from '../../mod.ts';
import { stats, type Launcher, type RunningServer } from './server.ts';
import { TestClient, refusedUpgrade } from './ws-client.ts';
import { waitUntil } from './checks.ts';
import { isCluster, type Endpoint } from './cluster.ts';
import { OPCODE, frame, rawUpgrade } from './raw-ws.ts';
import { sendAsIs } from './raw-http.ts';

/** Counters of live things: each returns to 0 when every client has gone (README, "Protocol"). */
export const LIVE_COUNTERS = ['connections', 'subscribers', 'publishers', 'peers', 'pushers', 'pullers', 'topics', 'queued'] as const;
/** Every field the README's Protocol names for `/stats`. */
export const STATS_FIELDS = [...LIVE_COUNTERS, 'messagesIn', 'messagesOut', 'slowConsumerDisconnects', 'uptimeSeconds'] as const;

type LiveCounter = (typeof LIVE_COUNTERS)[number];

/** One broker for a `describe` block, plus clients that are closed after each test. */
interface Fixture {
  /** The broker (of a cluster: node A, where receivers connect). */
  readonly server: RunningServer;
  /** Opens a WebSocket on `path` (e.g. `/sub/foo`) and waits for the handshake. */
  connect(path: string, options?: ClientOptions): Promise<TestClient>;
  /** Sends an HTTP request to `path`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs `body` to `path` and asserts `200` with an empty body. */
  post(path: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<void>;
  /** The broker's live state and totals (of a cluster: all nodes together). */
  stats(): Promise<BrokerStats>;
  /** Waits until the named live counters have exactly these values (the others are not checked). */
  live(expected: Partial<Record<LiveCounter, number>>): Promise<void>;
}

function useBroker(launch: Launcher, args: string[]): Fixture {
  let server: RunningServer | undefined;
  const clients = new Set<TestClient>();
  before(async () => {
    server = await launch(args);
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await server?.stop();
  });
  // Every test leaves the broker as it found it: each live counter back at 0.
  afterEach(async () => {
    const open = [...clients];
    clients.clear();
    await Promise.all(open.map((client) => (client.socket.readyState === client.socket.CLOSED ? undefined : client.close())));
    if (server) await fixture.live(Object.fromEntries(LIVE_COUNTERS.map((name) => [name, 0])));
  });
  /** Publishers and pushers connect, and requests that send go, to a cluster's sending node. */
  const sending = (): Endpoint => (isCluster(fixture.server) ? fixture.server.sending : fixture.server);
  const fixture: Fixture = {
    get server() {
      assert.ok(server, 'broker not started');
      return server;
    },
    async connect(path, options) {
      const base = /^\/(pub|push)\//.test(path) ? sending() : fixture.server;
      const client = new TestClient(base.wsUrl + path, options);
      clients.add(client);
      await client.opened;
      return client;
    },
    request: (path, init) => fetch((['GET', 'HEAD'].includes(init?.method ?? 'GET') ? fixture.server : sending()).httpUrl + path, init),
    async post(path, body, headers = {}) {
      const response = await fixture.request(path, { method: 'POST', body: body as BodyInit, headers, duplex: 'half' } as RequestInit);
      assert.equal(response.status, 200, `POST ${path}: ${response.status} ${await response.clone().text()}`);
      assert.equal(await response.text(), '', `POST ${path} answers an empty body`);
    },
    stats: () => (isCluster(fixture.server) ? fixture.server.stats() : stats(fixture.server)),
    async live(expected) {
      let last: BrokerStats | undefined;
      const matches = (s: BrokerStats) => Object.entries(expected).every(([name, value]) => s[name as LiveCounter] === value);
      await waitUntil(
        () => `live counters ${JSON.stringify(expected)}; the last stats: ${JSON.stringify(last)}`,
        async () => matches((last = await fixture.stats())),
      );
    },
  };
  return fixture;
}

/** The JSON error body of a refusal; asserts it is `{"error": "..."}` and returns the text. */
async function errorOf(response: { status: number; body: string } | Response): Promise<string> {
  const text = response instanceof Response ? await response.text() : response.body;
  const json = JSON.parse(text) as { error?: unknown };
  assert.equal(typeof json.error, 'string', `error body: ${text}`);
  return json.error as string;
}

/** Asserts `client` got exactly `expected` (text) and nothing before or between. */
async function expectTexts(client: TestClient, expected: string[]): Promise<void> {
  const got = await client.waitFor(expected.length, 10_000);
  assert.deepEqual(
    got.map((m) => (m.binary ? `<binary ${(m.data as Buffer).toString('hex')}>` : m.data)),
    expected,
  );
}

const bytes = (...values: number[]) => Buffer.from(values);

/** A request body of `size` bytes of "y" sent as a stream in 100-byte chunks (no Content-Length). */
function streamOf(size: number): ReadableStream<Uint8Array> {
  let left = size;
  return new ReadableStream({
    pull(controller) {
      const chunk = Math.min(100, left);
      controller.enqueue(new Uint8Array(chunk).fill(0x79));
      left -= chunk;
      if (left === 0) controller.close();
    },
  });
}
/** Not valid UTF-8 (a lone continuation byte, an overlong form, 0xff). */
const INVALID_UTF8 = bytes(0x61, 0x80, 0xc0, 0xaf, 0xff, 0x00);

/** What a way of serving the broker can and cannot do on the wire. */
export interface SuiteCapabilities {
  /**
   * A refused WebSocket upgrade arrives as its status line only, without the headers and the JSON
   * error body the broker gave it (default false). True for a broker mounted behind
   * `@hono/node-ws`, which writes just `HTTP/1.1 <status>` and `Content-Length: 0`: the status is
   * still checked, and the body must then be empty.
   */
  refusedUpgradeIsStatusOnly?: boolean;
}

/**
 * Registers the black-box tests for one way of launching the broker. `launch(args)` must start
 * a fresh broker with those CLI flags on a free loopback port.
 */
export function defineBlackboxSuite(name: string, launch: Launcher, capabilities: SuiteCapabilities = {}): void {
  const statusOnly = capabilities.refusedUpgradeIsStatusOnly ?? false;

  /** Asserts a refused upgrade's status and, where the server can send them, its headers and JSON error. */
  async function expectRefusedUpgrade(
    refused: { status: number; body: string; headers: Record<string, string | string[] | undefined> },
    status: number,
    error: RegExp | string,
    label: string,
    headers: Record<string, string> = {},
  ): Promise<void> {
    assert.equal(refused.status, status, label);
    if (statusOnly) {
      assert.equal(refused.body, '', `${label}: this server sends refused upgrades without a body`);
      return;
    }
    for (const [header, value] of Object.entries(headers)) assert.equal(refused.headers[header], value, `${label}: ${header}`);
    assert.match(String(refused.headers['content-type'] ?? ''), /application\/json/, label);
    const text = await errorOf(refused);
    if (typeof error === 'string') assert.equal(text, error, label);
    else assert.match(text, error, label);
  }

  describe(`${name}: black box`, () => {
    describe('development mode, defaults', () => {
      const broker = useBroker(launch, []);

      describe("Mercury's scenarios", () => {
        it('exact topic: two subscribers both get each message, once', async () => {
          const a = await broker.connect('/sub/foo');
          const b = await broker.connect('/sub/foo');
          const publisher = await broker.connect('/pub/foo');
          await broker.live({ subscribers: 2, publishers: 1, topics: 1 });
          await publisher.send('Hello');
          // Order is kept per publisher only: let the frame arrive before another publisher sends.
          await a.waitFor(1, 10_000);
          await b.waitFor(1, 10_000);
          await broker.post('/pub/foo', 'World');
          await expectTexts(a, ['Hello', 'World']);
          await expectTexts(b, ['Hello', 'World']);
          // A sentinel proves nothing else (no duplicate) arrived in between.
          await broker.post('/pub/foo', 'sentinel');
          await expectTexts(a, ['Hello', 'World', 'sentinel']);
          await expectTexts(b, ['Hello', 'World', 'sentinel']);
        });

        it('hierarchy: a parent subscriber gets the child topic, a child subscriber not the parent', async () => {
          const parent = await broker.connect('/sub/wong');
          const child = await broker.connect('/sub/wong/amy');
          const grandchild = await broker.connect('/sub/wong/amy/x');
          const sibling = await broker.connect('/sub/wong/bob');
          const pubChild = await broker.connect('/pub/wong/amy');
          const pubParent = await broker.connect('/pub/wong');
          await broker.live({ subscribers: 4, publishers: 2, topics: 4 });

          // Order is kept per publisher only: each frame arrives before another publisher sends.
          await pubChild.send('ws on child');
          await parent.waitFor(1, 10_000);
          await child.waitFor(1, 10_000);
          await broker.post('/pub/wong/amy', 'post on child');
          await pubParent.send('ws on parent');
          await parent.waitFor(3, 10_000);
          await broker.post('/pub/wong', 'post on parent');
          await broker.post('/pub/wong/amy/x', 'post on grandchild');

          await expectTexts(parent, ['ws on child', 'post on child', 'ws on parent', 'post on parent', 'post on grandchild']);
          await expectTexts(child, ['ws on child', 'post on child', 'post on grandchild']);
          // Sentinels: the grandchild and the sibling got nothing from the parent or the child.
          await broker.post('/pub/wong/amy/x', 'sentinel');
          await broker.post('/pub/wong/bob', 'sentinel');
          await expectTexts(grandchild, ['post on grandchild', 'sentinel']);
          await expectTexts(sibling, ['sentinel']);
          await expectTexts(child, ['ws on child', 'post on child', 'post on grandchild', 'sentinel']);
          await expectTexts(parent, ['ws on child', 'post on child', 'ws on parent', 'post on parent', 'post on grandchild', 'sentinel', 'sentinel']);
        });

        it('a publisher socket receives nothing and a subscriber frame is ignored', async () => {
          const subscriber = await broker.connect('/sub/quiet');
          const other = await broker.connect('/sub/quiet');
          const publisher = await broker.connect('/pub/quiet');
          await broker.live({ subscribers: 2, publishers: 1 });
          await subscriber.send('from a subscriber');
          await publisher.send('one');
          await expectTexts(other, ['one']);
          await expectTexts(subscriber, ['one']);
          // The pong means the subscriber's frame was handled (ignored, or wrongly published):
          // a sentinel published after it must come right after 'one' at both subscribers.
          await subscriber.ping();
          await broker.post('/pub/quiet', 'sentinel');
          await expectTexts(other, ['one', 'sentinel']);
          await expectTexts(subscriber, ['one', 'sentinel']);
          // A publisher socket gets no messages, so its sentinel is a pong.
          await publisher.ping();
          assert.deepEqual(publisher.texts(), []);
          const now = await broker.stats();
          assert.ok(now.messagesIn >= 2);
        });

        it('bus: three peers, an echo peer and a stranger on another topic', async () => {
          const peer1 = await broker.connect('/bus/room');
          const peer2 = await broker.connect('/bus/room');
          const peer3 = await broker.connect('/bus/room');
          const echo = await broker.connect('/bus/room?echo=1');
          const stranger = await broker.connect('/bus/other');
          const child = await broker.connect('/bus/room/child');
          await broker.live({ peers: 6, topics: 3 });

          await peer1.send('from peer1');
          await expectTexts(peer2, ['from peer1']);
          await expectTexts(peer3, ['from peer1']);
          await expectTexts(echo, ['from peer1']);
          await echo.send('from echo');
          await expectTexts(echo, ['from peer1', 'from echo']);
          await expectTexts(peer1, ['from echo']);
          await expectTexts(peer2, ['from peer1', 'from echo']);
          await expectTexts(peer3, ['from peer1', 'from echo']);
          await broker.post('/bus/room', 'posted');
          for (const peer of [peer1, peer2, peer3]) await expectTexts(peer, peer === peer1 ? ['from echo', 'posted'] : ['from peer1', 'from echo', 'posted']);
          await expectTexts(echo, ['from peer1', 'from echo', 'posted']);
          // No hierarchy on the bus, and nothing crosses topics.
          await broker.post('/bus/other', 'sentinel');
          await broker.post('/bus/room/child', 'sentinel');
          await expectTexts(stranger, ['sentinel']);
          await expectTexts(child, ['sentinel']);
        });

        it('bus echo takes true and yes; other values mean no echo', async () => {
          const yes = await broker.connect('/bus/echoes?echo=yes');
          const truthy = await broker.connect('/bus/echoes?echo=true');
          const zero = await broker.connect('/bus/echoes?echo=0');
          await broker.live({ peers: 3 });
          // Order is kept per publisher only: each frame arrives before the next peer sends.
          await yes.send('y');
          await truthy.waitFor(1, 10_000);
          await truthy.send('t');
          await yes.waitFor(2, 10_000);
          await zero.send('z');
          await expectTexts(yes, ['y', 't', 'z']);
          await expectTexts(truthy, ['y', 't', 'z']);
          await broker.post('/bus/echoes', 'sentinel');
          await expectTexts(zero, ['y', 't', 'sentinel']);
        });

        it('push/pull: round robin as pinned, a leave, a join, all leaving, a new one, then a POST', async () => {
          const pusher = await broker.connect('/push/jobs');
          const p0 = await broker.connect('/pull/jobs');
          await broker.live({ pullers: 1 });
          const p1 = await broker.connect('/pull/jobs');
          await broker.live({ pullers: 2, pushers: 1, topics: 1 });

          for (const m of ['m1', 'm2', 'm3']) await pusher.send(m);
          await expectTexts(p0, ['m1', 'm3']);
          await expectTexts(p1, ['m2']);

          await p1.close();
          await broker.live({ pullers: 1 });
          await pusher.send('m4');
          await expectTexts(p0, ['m1', 'm3', 'm4']);

          const p2 = await broker.connect('/pull/jobs');
          await broker.live({ pullers: 2 });
          await pusher.send('m5');
          await pusher.send('m6');
          await expectTexts(p0, ['m1', 'm3', 'm4', 'm5']);
          await expectTexts(p2, ['m6']);

          await p0.close();
          await p2.close();
          await broker.live({ pullers: 0 });
          await pusher.send('m7');
          // Queued before the POST (another publisher) pushes: order is kept per publisher only.
          await broker.live({ queued: 1 });
          await broker.post('/push/jobs', 'm8');
          await broker.live({ queued: 2, topics: 1 });

          const p3 = await broker.connect('/pull/jobs');
          await expectTexts(p3, ['m7', 'm8']);
          await broker.live({ queued: 0 });
          await broker.post('/push/jobs', 'm9');
          await expectTexts(p3, ['m7', 'm8', 'm9']);
          // Each message went to exactly one puller.
          assert.deepEqual(p1.texts(), ['m2']);
          assert.deepEqual(p2.texts(), ['m6']);
          assert.deepEqual(p0.texts(), ['m1', 'm3', 'm4', 'm5']);
        });

        it('push/pull: exactly one topic, no hierarchy', async () => {
          const parent = await broker.connect('/pull/work');
          const child = await broker.connect('/pull/work/child');
          await broker.live({ pullers: 2 });
          await broker.post('/push/work/child', 'for child');
          await broker.post('/push/work', 'for parent');
          await expectTexts(child, ['for child']);
          await expectTexts(parent, ['for parent']);
        });
      });

      describe('frames keep their type and bytes', () => {
        it('WebSocket text stays text and binary stays binary, byte for byte', async () => {
          const subscriber = await broker.connect('/sub/frames');
          const publisher = await broker.connect('/pub/frames');
          await broker.live({ subscribers: 1, publishers: 1 });
          const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
          await publisher.send('héllo ✓ 😀');
          await publisher.send(binary);
          await publisher.send(INVALID_UTF8);
          await publisher.send('');
          await publisher.send(Buffer.alloc(0));
          const got = await subscriber.waitFor(5, 10_000);
          assert.deepEqual(got[0], { data: 'héllo ✓ 😀', binary: false });
          assert.equal(got[1]!.binary, true);
          assert.ok(binary.equals(got[1]!.data as Buffer));
          assert.equal(got[2]!.binary, true);
          assert.ok(INVALID_UTF8.equals(got[2]!.data as Buffer));
          assert.deepEqual(got[3], { data: '', binary: false });
          assert.equal(got[4]!.binary, true);
          assert.equal((got[4]!.data as Buffer).length, 0);
        });

        it('POST: UTF-8 is text, application/octet-stream is binary, invalid UTF-8 is binary', async () => {
          const subscriber = await broker.connect('/sub/posted');
          await broker.live({ subscribers: 1 });
          await broker.post('/pub/posted', 'plain ✓', { 'content-type': 'text/plain; charset=utf-8' });
          await broker.post('/pub/posted', '{"json":true}', { 'content-type': 'application/json' });
          await broker.post('/pub/posted', 'bytes ✓', { 'content-type': 'application/octet-stream' });
          await broker.post('/pub/posted', INVALID_UTF8, { 'content-type': 'text/plain' });
          await broker.post('/pub/posted', bytes(0x68, 0x69), { 'content-type': 'Application/Octet-Stream; foo=bar' });
          const got = await subscriber.waitFor(5, 10_000);
          assert.deepEqual(got[0], { data: 'plain ✓', binary: false });
          assert.deepEqual(got[1], { data: '{"json":true}', binary: false });
          assert.equal(got[2]!.binary, true);
          assert.ok(Buffer.from('bytes ✓').equals(got[2]!.data as Buffer));
          assert.equal(got[3]!.binary, true);
          assert.ok(INVALID_UTF8.equals(got[3]!.data as Buffer));
          assert.equal(got[4]!.binary, true);
          assert.ok(bytes(0x68, 0x69).equals(got[4]!.data as Buffer));
        });

        it('bus and push/pull keep the frame type too', async () => {
          const peer = await broker.connect('/bus/typed');
          const sender = await broker.connect('/bus/typed');
          const puller = await broker.connect('/pull/typed');
          const pusher = await broker.connect('/push/typed');
          await broker.live({ peers: 2, pullers: 1, pushers: 1 });
          await sender.send(INVALID_UTF8);
          await sender.send('text');
          await pusher.send(INVALID_UTF8);
          // Order is kept per publisher only: let the frame arrive before the POSTs push.
          await puller.waitFor(1, 10_000);
          await broker.post('/push/typed', 'posted text');
          await broker.post('/push/typed', 'posted bytes', { 'content-type': 'application/octet-stream' });
          const onBus = await peer.waitFor(2, 10_000);
          assert.equal(onBus[0]!.binary, true);
          assert.ok(INVALID_UTF8.equals(onBus[0]!.data as Buffer));
          assert.deepEqual(onBus[1], { data: 'text', binary: false });
          const pulled = await puller.waitFor(3, 10_000);
          assert.equal(pulled[0]!.binary, true);
          assert.ok(INVALID_UTF8.equals(pulled[0]!.data as Buffer));
          assert.deepEqual(pulled[1], { data: 'posted text', binary: false });
          assert.equal(pulled[2]!.binary, true);
          assert.ok(Buffer.from('posted bytes').equals(pulled[2]!.data as Buffer));
        });
      });

      describe('topics on the wire', () => {
        it('caf%C3%A9 and café are the same topic; %2F splits segments', async () => {
          const encoded = await broker.connect('/sub/caf%C3%A9');
          const split = await broker.connect('/sub/a%2Fb');
          await broker.live({ subscribers: 2, topics: 2 });
          await broker.post(`/pub/${encodeURIComponent('café')}`, 'one');
          await broker.post('/pub/a/b/c', 'two');
          await expectTexts(encoded, ['one']);
          await expectTexts(split, ['two']);
          const pub = await broker.connect('/pub/caf%c3%a9/x');
          await pub.send('three');
          await expectTexts(encoded, ['one', 'three']);
        });

        it('the query string is not part of the topic; an encoded ? or # is', async () => {
          const plain = await broker.connect('/sub/query?foo=bar');
          const question = await broker.connect('/sub/query%3Ffoo%3Dbar');
          const hash = await broker.connect('/sub/query%23frag');
          await broker.live({ subscribers: 3, topics: 3 });
          await broker.post('/pub/query?x=1', 'plain');
          await broker.post(`/pub/${encodeURIComponent('query?foo=bar')}`, 'question');
          await broker.post('/pub/query%23frag', 'hash');
          await expectTexts(plain, ['plain']);
          await expectTexts(question, ['question']);
          await expectTexts(hash, ['hash']);
        });

        const invalid: Array<[path: string, rule: RegExp]> = [
          ['a//b', /empty segment/],
          ['a/', /empty segment/],
          ['a%2F%2Fb', /empty segment/],
          ['%2Fa', /empty segment/],
          ['a%2F..%2Fb', /"\.\." segment|"\." or "\.\."/],
          ['a%2F.', /"\." or "\.\."/],
          ['a%01b', /control character/],
          ['a%7Fb', /control character/],
          ['a%0A', /control character/],
          ['a%C3', /UTF-8|percent/],
          ['a%E0%A4%A', /UTF-8|percent/],
          ['a%ZZ', /UTF-8|percent/],
          ['%ED%A0%80', /UTF-8|percent/],
          [Array.from({ length: 33 }, () => 's').join('/'), /segments|deep/],
          ['x'.repeat(1025), /bytes|long/],
          ['%C3%A9'.repeat(512) + 'x', /bytes|long/],
        ];

        it('an invalid topic is 400 with a JSON error naming the rule, before any upgrade', async () => {
          for (const [path, rule] of invalid) {
            for (const kind of ['sub', 'pub', 'bus', 'push', 'pull']) {
              const refused = await refusedUpgrade(`${broker.server.wsUrl}/${kind}/${path}`);
              await expectRefusedUpgrade(refused, 400, rule, `${kind}/${path}`);
            }
            for (const kind of ['pub', 'bus', 'push']) {
              const response = await broker.request(`/${kind}/${path}`, { method: 'POST', body: 'x' });
              assert.equal(response.status, 400, `POST ${kind}/${path}`);
              assert.match(await errorOf(response), rule, `POST ${kind}/${path}`);
            }
            const plain = await broker.request(`/sub/${path}`);
            assert.equal(plain.status, 400, `GET sub/${path}`);
          }
          // The topic route with no topic at all.
          const empty = await refusedUpgrade(`${broker.server.wsUrl}/sub/`);
          await expectRefusedUpgrade(empty, 400, /./, 'sub/');
          const now = await broker.stats();
          assert.equal(now.connections, 0);
        });

        it('the limits themselves are valid: 32 segments, 1024 bytes (multibyte counted in bytes)', async () => {
          const deep = Array.from({ length: 32 }, (_, i) => `s${i}`).join('/');
          const long = '%C3%A9'.repeat(512);
          for (const path of [deep, long, 'x'.repeat(1024), 'a/.b/c..', '%F0%9F%98%80']) {
            const subscriber = await broker.connect(`/sub/${path}`);
            await broker.live({ subscribers: 1 });
            await broker.post(`/pub/${path}`, 'ok');
            await expectTexts(subscriber, ['ok']);
            await subscriber.close();
            await broker.live({ subscribers: 0 });
          }
        });
      });

      describe('routes and status codes', () => {
        it('a plain GET on every WebSocket route is 426 with Upgrade: websocket', async () => {
          for (const kind of ['sub', 'pub', 'bus', 'push', 'pull']) {
            const response = await broker.request(`/${kind}/some/topic`);
            assert.equal(response.status, 426, kind);
            assert.equal(response.headers.get('upgrade')?.toLowerCase(), 'websocket', kind);
            await errorOf(response);
          }
        });

        it('POST answers 200 with an empty body on pub, bus and push', async () => {
          for (const kind of ['pub', 'bus', 'push']) await broker.post(`/${kind}/nobody/listens`, 'x');
          // The push went into the queue; a puller takes it so the broker is empty again.
          await broker.live({ queued: 1 });
          const puller = await broker.connect('/pull/nobody/listens');
          await expectTexts(puller, ['x']);
        });

        it('a method a route does not take is 404 (POST on /sub and /pull, PUT on /pub)', async () => {
          for (const [method, path] of [['POST', '/sub/x'], ['POST', '/pull/x'], ['PUT', '/pub/x'], ['DELETE', '/push/x']] as const) {
            const response = await broker.request(path, { method, body: method === 'DELETE' ? undefined : 'x' });
            assert.equal(response.status, 404, `${method} ${path}`);
            await response.body?.cancel();
          }
        });

        it('GET / serves the demo page in development mode', async () => {
          const response = await broker.request('');
          assert.equal(response.status, 200);
          assert.match(response.headers.get('content-type') ?? '', /text\/html/);
          assert.match(await response.text(), /<html/i);
        });

        it('GET /healthz is 200 ok', async () => {
          const response = await broker.request('/healthz');
          assert.equal(response.status, 200);
          assert.equal((await response.text()).trim(), 'ok');
        });

        it('GET /stats has every field the README names, counting live things', async () => {
          // The endpoint itself (of a cluster, node A's); the counting below is the broker's.
          const fields = await stats(broker.server);
          for (const field of STATS_FIELDS) assert.equal(typeof fields[field], 'number', field);
          const before = await broker.stats();
          const subscriber = await broker.connect('/sub/counted/a');
          const publisher = await broker.connect('/pub/counted/a/deeper');
          const peer = await broker.connect('/bus/counted-bus');
          const pusher = await broker.connect('/push/counted-pull');
          const puller = await broker.connect('/pull/counted-pull');
          await broker.live({ connections: 5, subscribers: 1, publishers: 1, peers: 1, pushers: 1, pullers: 1, topics: 3, queued: 0 });
          await publisher.send('x');
          await expectTexts(subscriber, ['x']);
          const now = await broker.stats();
          assert.ok(now.messagesIn >= before.messagesIn + 1);
          assert.ok(now.messagesOut >= before.messagesOut + 1);
          await Promise.all([subscriber, publisher, peer, pusher, puller].map((c) => c.close()));
          await broker.live({ connections: 0, subscribers: 0, publishers: 0, peers: 0, pushers: 0, pullers: 0, topics: 0, queued: 0 });
        });

        it('GET /metrics is Prometheus text with the same counters', async () => {
          const subscriber = await broker.connect('/sub/metered');
          await broker.live({ subscribers: 1 });
          const response = await broker.request('/metrics');
          assert.equal(response.status, 200);
          assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
          const text = await response.text();
          const samples = new Map<string, number>();
          for (const line of text.split('\n')) {
            if (line === '') continue;
            if (line.startsWith('#')) {
              assert.match(line, /^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (gauge|counter))$/);
              continue;
            }
            const match = /^([a-z_]+) (-?\d+(\.\d+)?)$/.exec(line);
            assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
            samples.set(match[1]!, Number(match[2]));
          }
          assert.equal(samples.get('broker_connections'), 1);
          assert.equal(samples.get('broker_subscribers'), 1);
          for (const name of ['broker_publishers', 'broker_peers', 'broker_pushers', 'broker_pullers', 'broker_topics', 'broker_queued']) {
            assert.ok(samples.has(name), name);
          }
          assert.ok(samples.has('broker_messages_in_total'));
          assert.ok(samples.has('broker_messages_out_total'));
          assert.ok(samples.has('broker_slow_consumer_disconnects_total'));
          await subscriber.close();
        });
      });

      // What the broker app itself answers, so the same standalone and mounted, on every runtime.
      describe('HEAD and dot segments', () => {
        it('HEAD is the GET answer without a body: /healthz (with Upgrade: websocket too), /stats, an SSE subscription closed at once', async () => {
          const cases: Array<[path: string, headers: Record<string, string>, type: RegExp]> = [
            ['/healthz', {}, /^text\/plain/],
            ['/healthz', { upgrade: 'websocket' }, /^text\/plain/],
            ['/stats', { upgrade: 'websocket' }, /^application\/json/],
            ['/sub/headed', { accept: 'text/event-stream' }, /^text\/event-stream/],
          ];
          for (const [path, headers, type] of cases) {
            const label = `HEAD ${path} ${JSON.stringify(headers)}`;
            const head = await sendAsIs(broker.server, 'HEAD', path, headers);
            assert.equal(head.status, 200, label);
            assert.match(String(head.headers['content-type']), type, label);
            assert.equal(head.body, '', label);
            if (path !== '/sub/headed') {
              const get = await sendAsIs(broker.server, 'GET', path, headers);
              assert.equal(head.headers['content-type'], get.headers['content-type'], `${label}: the GET's content type`);
            }
          }
          await broker.live({ connections: 0, subscribers: 0 });
        });

        it('dot segments, also written %2e, mean what URL parsing makes of them: on POST, on WebSocket, before the kind', async () => {
          const subscriber = await broker.connect('/sub/dots/a');
          const dotted = await rawUpgrade(broker.server.httpUrl, '/sub/dots/b/%2E%2e/a');
          try {
            await broker.live({ subscribers: 2, topics: 1 });
            const posted = ['/pub/dots/x/../a', '/pub/dots/x/%2e%2E/a', '/x/../pub/dots/./a'];
            for (const path of posted) {
              const response = await sendAsIs(broker.server, 'POST', path, {}, path);
              assert.equal(response.status, 200, `POST ${path}: ${response.body}`);
            }
            const publisher = await rawUpgrade(broker.server.httpUrl, '/pub/dots/x/../a');
            publisher.send(frame(OPCODE.text, 'over WebSocket'));
            await expectTexts(subscriber, [...posted, 'over WebSocket']);
            await dotted.waitForFrame((f) => f.payload.toString() === 'over WebSocket');
            assert.deepEqual(dotted.frames.map((f) => f.payload.toString()), [...posted, 'over WebSocket']);
            publisher.destroy();
          } finally {
            dotted.destroy();
          }
        });
      });
    });

    describe('production mode and small limits', () => {
      const broker = useBroker(launch, ['-m', 'production', '--max-message-size', '1000', '--push-queue-limit', '2']);

      it('GET / is 404 in production mode', async () => {
        const response = await broker.request('');
        assert.equal(response.status, 404);
        await response.body?.cancel();
      });

      it('POST of exactly maxMessageSize bytes is accepted; one more byte is 413', async () => {
        const subscriber = await broker.connect('/sub/big');
        await broker.live({ subscribers: 1 });
        await broker.post('/pub/big', 'x'.repeat(1000));
        // 500 × "é" is 1000 bytes of UTF-8 in 500 characters: the limit counts bytes.
        await broker.post('/pub/big', 'é'.repeat(500));
        for (const body of ['x'.repeat(1001), 'é'.repeat(501)]) {
          const response = await broker.request('/pub/big', { method: 'POST', body });
          assert.equal(response.status, 413);
          assert.match(await errorOf(response), /maxMessageSize|large/);
        }
        const binary = await broker.request('/bus/big', { method: 'POST', body: new Uint8Array(1001), headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(binary.status, 413);
        await binary.body?.cancel();
        // Without a Content-Length (chunked), the limit holds while the body is read.
        for (const size of [1001, 64 * 1024]) {
          const chunked = await broker.request('/pub/big', { method: 'POST', body: streamOf(size), duplex: 'half' } as RequestInit);
          assert.equal(chunked.status, 413, `chunked body of ${size} bytes`);
          await chunked.body?.cancel();
        }
        await broker.post('/pub/big', streamOf(1000) as never);
        await broker.post('/pub/big', 'after');
        await expectTexts(subscriber, ['x'.repeat(1000), 'é'.repeat(500), 'y'.repeat(1000), 'after']);
      });

      it('a WebSocket frame of exactly maxMessageSize passes; a bigger one closes that socket with 1009', async () => {
        const subscriber = await broker.connect('/sub/frame');
        const publisher = await broker.connect('/pub/frame');
        const textPublisher = await broker.connect('/pub/frame');
        await broker.live({ subscribers: 1, publishers: 2 });
        await publisher.send(Buffer.alloc(1000, 7));
        // Order is kept per publisher only: let the frame arrive before the other publisher sends.
        await subscriber.waitFor(1, 10_000);
        await textPublisher.send('é'.repeat(500));
        const got = await subscriber.waitFor(2, 10_000);
        assert.equal((got[0]!.data as Buffer).length, 1000);
        assert.equal(got[1]!.data, 'é'.repeat(500));
        publisher.socket.send(Buffer.alloc(1001, 7));
        assert.equal((await publisher.closed).code, 1009);
        textPublisher.socket.send('é'.repeat(501));
        assert.equal((await textPublisher.closed).code, 1009);
        await broker.live({ publishers: 0 });
        // Other connections are unaffected.
        await broker.post('/pub/frame', 'still here');
        const all = await subscriber.waitFor(3, 10_000);
        assert.deepEqual(all[2], { data: 'still here', binary: false });
        assert.equal(subscriber.received.length, 3);
      });

      it('a full push queue: POST is 503, a WebSocket pusher is closed with 1013, nothing is dropped', async () => {
        await broker.post('/push/full', 'q1');
        await broker.post('/push/full', 'q2');
        await broker.live({ queued: 2 });
        const refused = await broker.request('/push/full', { method: 'POST', body: 'q3' });
        assert.equal(refused.status, 503);
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.match(await errorOf(refused), /full/);

        const pusher = await broker.connect('/push/full');
        await broker.live({ pushers: 1 });
        await pusher.send('q4');
        assert.equal((await pusher.closed).code, 1013);
        await broker.live({ pushers: 0, queued: 2 });

        // Another topic's queue is its own.
        await broker.post('/push/other-queue', 'o1');
        await broker.live({ queued: 3 });

        const puller = await broker.connect('/pull/full');
        await expectTexts(puller, ['q1', 'q2']);
        const other = await broker.connect('/pull/other-queue');
        await expectTexts(other, ['o1']);
        await broker.live({ queued: 0 });
        // With a puller there, pushes flow again.
        await broker.post('/push/full', 'q5');
        await expectTexts(puller, ['q1', 'q2', 'q5']);
      });
    });

    describe('slow consumers (--max-buffered-bytes 65536)', () => {
      const broker = useBroker(launch, ['--max-buffered-bytes', '65536']);

      it('a subscriber that stops reading is closed with 1013 and counted; the others never notice', async () => {
        const slow = await broker.connect('/sub/firehose');
        const healthy = await broker.connect('/sub/firehose');
        const publisher = await broker.connect('/pub/firehose');
        await broker.live({ subscribers: 2, publishers: 1 });
        const before = await broker.stats();
        slow.socket.pause(); // reads nothing more: its backlog can only grow
        const frame = Buffer.alloc(32 * 1024, 0xab);
        let sent = 0;
        let dropped = false;
        // One frame at a time, each waited for by the healthy subscriber, so only the paused one
        // can build a backlog. Bounded: a broker that never drops it fails here, not by memory.
        while (!dropped && sent < 2000) {
          await publisher.send(frame);
          sent++;
          await healthy.waitFor(sent, 10_000);
          if (sent % 8 === 0) {
            const now = await broker.stats();
            dropped = now.slowConsumerDisconnects > before.slowConsumerDisconnects && now.subscribers === 1;
          }
        }
        assert.ok(dropped, `slow subscriber still attached after ${sent} frames of 32 KiB`);
        await publisher.send('after the drop');
        const last = await healthy.waitFor(sent + 1, 10_000);
        assert.deepEqual(last[sent], { data: 'after the drop', binary: false });
        slow.socket.resume();
        const closed = await slow.closed;
        assert.equal(closed.code, 1013);
        assert.ok(slow.received.length < sent, 'the slow subscriber did not get everything');
        assert.ok(slow.received.every((m) => m.binary && (m.data as Buffer).equals(frame)), 'what it got, it got whole');
      });
    });

    describe('connection limit (-c 2)', () => {
      const broker = useBroker(launch, ['-c', '2']);

      it('past maxConnections a new WebSocket is 503; POST still works; a freed slot is reusable', async () => {
        const subscriber = await broker.connect('/sub/limited');
        const puller = await broker.connect('/pull/limited');
        await broker.live({ connections: 2 });
        for (const kind of ['sub', 'pub', 'bus', 'push', 'pull']) {
          const refused = await refusedUpgrade(`${broker.server.wsUrl}/${kind}/limited`);
          await expectRefusedUpgrade(refused, 503, /connections/, kind, { 'retry-after': '1' });
        }
        await broker.post('/pub/limited', 'posted');
        await expectTexts(subscriber, ['posted']);
        await puller.close();
        await broker.live({ connections: 1 });
        // A receiver takes the freed slot: in a cluster it connects to the node that was full.
        const again = await broker.connect('/sub/limited');
        await broker.post('/pub/limited', 'again');
        await expectTexts(subscriber, ['posted', 'again']);
        await expectTexts(again, ['again']);
      });
    });

    describe('origin check (--allow-origin)', () => {
      const broker = useBroker(launch, ['--allow-origin', 'example.com', '--allow-origin', '*.example.org']);

      it('a WebSocket without Origin or with one that matches no pattern is 401 "Origin check failed"', async () => {
        for (const origin of [undefined, 'http://example.com.evil.net', 'http://evilexample.com', 'https://example.org', 'null']) {
          const refused = await refusedUpgrade(`${broker.server.wsUrl}/sub/guarded`, origin === undefined ? {} : { origin });
          await expectRefusedUpgrade(refused, 401, 'Origin check failed', `origin ${origin}`);
        }
        for (const origin of ['http://example.com', 'https://EXAMPLE.com:8443', 'https://a.example.org']) {
          const client = await broker.connect('/sub/guarded', { origin });
          await client.close();
        }
      });

      it('POST with a bad Origin is 401; POST without Origin is allowed (server to server)', async () => {
        const subscriber = await broker.connect('/sub/guarded', { origin: 'http://example.com' });
        await broker.live({ subscribers: 1 });
        const refused = await broker.request('/pub/guarded', { method: 'POST', body: 'x', headers: { origin: 'http://evil.net' } });
        assert.equal(refused.status, 401);
        assert.equal(await errorOf(refused), 'Origin check failed');
        await broker.post('/pub/guarded', 'server to server');
        await broker.post('/pub/guarded', 'from the page', { origin: 'http://example.com' });
        await expectTexts(subscriber, ['server to server', 'from the page']);
      });
    });

    describe('liveness pings (--ping-interval 1)', () => {
      const broker = useBroker(launch, ['--ping-interval', '1']);

      it('a client that never answers pings is dropped; one that answers stays', async () => {
        const deaf = await broker.connect('/sub/pinged', { autoPong: false });
        const answering = await broker.connect('/sub/pinged');
        await broker.live({ subscribers: 2 });
        const pinged = new Promise<void>((resolve) => deaf.socket.once('ping', () => resolve()));
        await pinged;
        const closed = await deaf.closed;
        assert.notEqual(closed.code, 1000, 'dropped, not closed as idle');
        await broker.live({ subscribers: 1 });
        await broker.post('/pub/pinged', 'still here');
        await expectTexts(answering, ['still here']);
      });
    });

    describe('inactivity timeout (-i 1)', () => {
      const broker = useBroker(launch, ['-i', '1']);

      it('a socket with no frames either way is closed with 1000 "inactivity timeout"', async () => {
        const idle = await broker.connect('/sub/idle');
        const closed = await idle.closed;
        assert.deepEqual(closed, { code: 1000, reason: 'inactivity timeout' });
      });
    });
  });
}
