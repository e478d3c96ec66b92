/**
 * The Node adapter's fast send path (src/adapters/node/fast-socket-session.ts): frames built
 * once and written to `ws`'s own TCP socket, one write per socket per turn.
 *
 * It relies on `ws` internals, so the first tests pin exactly those: if a `ws` upgrade moves
 * them, these fail by name instead of the broker silently misbehaving (the broker itself then
 * falls back to `ws.send` and logs why).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { WSContext } from 'hono/ws';
import { BrokerMessage } from '../src/message.ts';
import { standardTransport } from '../src/app/socket-session.ts';
import { clock } from '../src/app/sessions.ts';
import { FastSocketSession, fastSocketFor, fastTransport } from '../src/adapters/node/fast-socket-session.ts';
import { serverFrame } from '../src/adapters/node/server-frame.ts';
import { serveBroker, type RunningBroker } from '../src/adapters/node/serve.ts';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open, type TestClient } from './helpers/ws-client.ts';
import { slowConsumerScenario } from './helpers/slow-consumer.ts';

/** A `ws` server on a free port and one client connected to it; both sides handed over. */
async function wsPair(perMessageDeflate: boolean, clientOptions: WebSocket.ClientOptions = {}): Promise<{ server: WebSocket; client: WebSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate, ...clientOptions });
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  const server = await accepted;
  return {
    server,
    client,
    async close() {
      client.terminate();
      server.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}

function context(ws: WebSocket): WSContext<WebSocket> {
  return new WSContext<WebSocket>({
    send: (data) => ws.send(data as Buffer),
    close: (code, reason) => ws.close(code, reason),
    raw: ws,
    readyState: 1,
  });
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('ws internals the fast path writes through', () => {
  it('ws keeps the TCP socket as _socket, and its sender writes to that same socket', async () => {
    const pair = await wsPair(false);
    try {
      const internals = pair.server as unknown as { _socket: unknown; _sender: { _socket: unknown; _bufferedBytes: unknown } };
      assert.ok(internals._socket instanceof net.Socket, 'ws no longer keeps its net.Socket as _socket');
      assert.equal(internals._sender._socket, internals._socket, "ws's sender no longer writes to ws._socket");
      assert.equal(typeof internals._sender._bufferedBytes, 'number', "ws's sender no longer counts _bufferedBytes");
      assert.equal(fastSocketFor(pair.server), internals._socket);
    } finally {
      await pair.close();
    }
  });

  it("ws's own bufferedAmount sees the bytes the fast path leaves unsent, as the session does", async () => {
    const pair = await wsPair(false);
    try {
      const clientSocket = (pair.client as unknown as { _socket: net.Socket })._socket;
      clientSocket.pause(); // the client stops reading: bytes pile up on the server
      const session = new FastSocketSession(pair.server, fastSocketFor(pair.server)!);
      const message = new BrokerMessage(new Uint8Array(64 * 1024));
      // Collected this turn: counted before anything is written.
      session.deliver(message);
      assert.equal(session.bufferedAmount(), 64 * 1024 + 10);
      for (let i = 0; i < 400 && pair.server.bufferedAmount === 0; i++) {
        for (let j = 0; j < 16; j++) session.deliver(message);
        await nextTurn();
      }
      assert.ok(pair.server.bufferedAmount > 0, 'the socket never buffered: the kernel took 400 MiB?');
      assert.equal(session.bufferedAmount(), pair.server.bufferedAmount, "ws's bufferedAmount and the session's disagree");
    } finally {
      await pair.close();
    }
  });

  it('with permessage-deflate negotiated the transport falls back to ws.send, says so once, and still delivers', async () => {
    const pair = await wsPair(true);
    try {
      assert.equal(fastSocketFor(pair.server), undefined);
      const reasons: string[] = [];
      const transport = fastTransport(standardTransport, (reason: string) => reasons.push(reason));
      const session = transport.openSession(context(pair.server));
      assert.ok(!(session instanceof FastSocketSession));
      transport.openSession(context(pair.server));
      assert.equal(reasons.length, 1);
      const got = new Promise<string>((resolve) => pair.client.once('message', (data) => resolve(data.toString())));
      session.receiver.deliver(new BrokerMessage('through ws.send'), 't');
      assert.equal(await got, 'through ws.send');
    } finally {
      await pair.close();
    }
  });
});

describe('liveness on the fast path (read off the socket, no listeners)', () => {
  it('a pong answers the ping', async () => {
    const pair = await wsPair(false);
    try {
      const session = new FastSocketSession(pair.server, fastSocketFor(pair.server)!);
      assert.equal(session.awaitingPong, false);
      session.awaitingPong = true;
      session.ping();
      // ws clients answer pings by themselves.
      for (let i = 0; i < 500 && session.awaitingPong; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(session.awaitingPong, false);

    } finally {
      await pair.close();
    }
  });

  it('a peer that does not answer stays awaited; anything it sends counts as activity', async () => {
    const pair = await wsPair(false, { autoPong: false });
    try {
      const session = new FastSocketSession(pair.server, fastSocketFor(pair.server)!);
      const pinged = new Promise((resolve) => pair.client.once('ping', resolve));
      session.awaitingPong = true;
      session.ping();
      await pinged;
      assert.equal(session.awaitingPong, true, 'no byte came back, yet the ping counts as answered');

      session.lastActivity = 0;
      assert.equal(session.lastActivity, 0);
      const arrived = new Promise((resolve) => pair.server.once('message', resolve));
      pair.client.send('still here');
      await arrived;
      assert.equal(session.lastActivity, clock.now);
      assert.equal(session.awaitingPong, false);
    } finally {
      await pair.close();
    }
  });
});

describe('server frames', () => {
  it('encode every payload length class as RFC 6455 says', () => {
    for (const [length, header] of [[0, [0x82, 0]], [125, [0x82, 125]], [126, [0x82, 126, 0, 126]], [65535, [0x82, 126, 0xff, 0xff]], [65536, [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]]] as const) {
      const frame = serverFrame(new BrokerMessage(new Uint8Array(length).fill(7)));
      assert.deepEqual([...frame.subarray(0, header.length)], header, `header for ${length} bytes`);
      assert.equal(frame.length, header.length + length);
      assert.ok(frame.subarray(header.length).every((byte) => byte === 7));
    }
    assert.deepEqual([...serverFrame(new BrokerMessage('é'))], [0x81, 2, 0xc3, 0xa9]);
    assert.deepEqual([...serverFrame(BrokerMessage.fromUtf8(new Uint8Array([0xc3, 0xa9])))], [0x81, 2, 0xc3, 0xa9]);
  });
});

describe("one turn's frames joined once and shared", () => {
  it('sessions with the same frames share one buffer; one frame different, each still gets its own', async () => {
    const pairs = await Promise.all([wsPair(false), wsPair(false), wsPair(false), wsPair(false)]);
    try {
      const received = pairs.map((pair) => {
        const messages: string[] = [];
        pair.client.on('message', (data) => messages.push(data.toString()));
        return messages;
      });
      // What each session hands its socket, to see which writes share one buffer.
      const written: Buffer[][] = pairs.map(() => []);
      const [a, b, c, d] = pairs.map((pair, k) => {
        const socket = fastSocketFor(pair.server)!;
        const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
        socket.write = ((chunk: Buffer) => (written[k]!.push(chunk), write(chunk))) as typeof socket.write;
        return new FastSocketSession(pair.server, socket);
      });
      const one = new BrokerMessage('one');
      const two = new BrokerMessage('two');
      const other = new BrokerMessage('other');
      // In one turn: a and b the same frames (shared), c one frame different, d the same as a again
      // after c (the memo holds c's frames then).
      for (const [session, messages] of [[a, [one, two]], [b, [one, two]], [c, [one, other]], [d, [one, two]]] as const) {
        for (const message of messages) session!.deliver(message);
      }
      const expected = [['one', 'two'], ['one', 'two'], ['one', 'other'], ['one', 'two']];
      for (let i = 0; i < 200 && received.some((messages, k) => messages.length < expected[k]!.length); i++) await nextTurn();
      assert.deepEqual(received, expected);
      const [first] = written.map((chunks) => chunks[0]);
      assert.equal(written[1]![0], first, 'the same frames are joined once');
      assert.notEqual(written[2]![0], first);
      assert.deepEqual(written[3]![0], first);
    } finally {
      await Promise.all(pairs.map((pair) => pair.close()));
    }
  });
});

describe('the broker on the fast path', () => {
  let running: RunningBroker;
  const logged: string[] = [];
  const clients: TestClient[] = [];
  let base = '';
  before(async () => {
    running = await serveBroker({ listen: ['http://127.0.0.1:0'], log: (line) => logged.push(line) });
    base = running.urls[0]!.replace('http', 'ws');
  });
  after(async () => {
    for (const client of clients) client.socket.terminate();
    await running.close();
  });
  const connect = async (path: string) => {
    const client = await open(base + path);
    clients.push(client);
    return client;
  };

  it('takes the fast path (no fallback notice) and delivers every size and type intact, in order', async () => {
    const subscriber = await connect('/sub/sizes');
    const publisher = await connect('/pub/sizes/x');
    const sent: Array<string | Buffer> = [];
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) sent.push(Buffer.alloc(length, length % 251));
    sent.push('text', 'caf\u00e9 \u{1F600}', '');
    for (const data of sent) await publisher.send(data);
    const got = await subscriber.waitFor(sent.length, 10_000);
    assert.deepEqual(
      got.map((m) => m.data),
      sent,
    );
    assert.deepEqual(
      got.map((m) => m.binary),
      sent.map((data) => typeof data !== 'string'),
    );
    assert.deepEqual(logged.filter((line) => line.includes('fast send path')), []);
  });

  it('many messages published in one turn reach each subscriber once each, in order', async () => {
    const subscribers = await Promise.all([1, 2, 3].map(() => connect('/sub/burst')));
    const publisher = await connect('/pub/burst');
    const count = 2000;
    // One write carrying every frame: the broker handles them all in one turn.
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const payload = Buffer.from(`m${i}`);
      frames.push(Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload);
    }
    (publisher.socket as unknown as { _socket: net.Socket })._socket.write(Buffer.concat(frames));
    for (const subscriber of subscribers) {
      const got = await subscriber.waitFor(count, 10_000);
      assert.deepEqual(
        got.map((m) => m.data),
        Array.from({ length: count }, (_, i) => `m${i}`),
      );
    }
    const s = running.broker.stats();
    assert.ok(s.messagesOut >= count * 3);
  });
});

describe('slow consumers on the fast path', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--max-buffered-bytes', String(256 * 1024)]);
  });
  after(async () => {
    await server.stop();
  });

  it('a subscriber that stops reading is closed with 1013 and counted; the one that reads gets everything', async () => {
    await slowConsumerScenario(server);
  });
});
