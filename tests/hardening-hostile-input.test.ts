/**
 * Rule 7: hostile input never crashes the broker or disturbs other clients. Malformed and
 * percent-garbage paths, invalid UTF-8 (1007), hand-built fragments with control frames in
 * between and protocol violations (1002), huge headers (431), half-open upgrades and a flood of
 * connects and closes. Each refused client is one log line; no client's mistake prints a stack.
 *
 * Two bystanders (a subscriber and a publisher on `calm`) stay connected through all of it and
 * must keep working after every test.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open, refusedUpgrade, type TestClient } from './helpers/ws-client.ts';
import { OPCODE, closePayload, frame, rawExchange, rawUpgrade, statusOf, tcpConnect, upgradeRequest } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace, logLines, logLinesUpToSentinel } from './helpers/checks.ts';

const T = { timeout: 60_000 };
const MAX_MESSAGE = 4096;

describe('hostile input', () => {
  let server: RunningServer;
  let calmSub: TestClient;
  let calmPub: TestClient;
  let calmCount = 0;

  before(async () => {
    server = await nodeCli(['--max-message-size', String(MAX_MESSAGE)]);
    calmSub = await open(`${server.wsUrl}/sub/calm`);
    calmPub = await open(`${server.wsUrl}/pub/calm`);
    await waitForStats(server, (s) => s.subscribers === 1 && s.publishers === 1);
  });

  /** The bystanders are still connected, still counted, and messages still flow between them. */
  afterEach(async () => {
    assertAlive(server);
    calmCount++;
    await calmPub.send(`calm ${calmCount}`);
    const received = await calmSub.waitFor(calmCount, 10_000);
    assert.equal(received.at(-1)!.data, `calm ${calmCount}`);
    // Everything a test opened is gone again: only the two bystanders remain.
    const s = await waitForStats(server, (x) => x.connections === 2, 15_000);
    assert.equal(s.subscribers, 1);
    assert.equal(s.publishers, 1);
    assert.equal(s.peers + s.pushers + s.pullers + s.queued, 0);
  });

  /** Checks there are exactly `expected` new log lines with `text` since `before` of them. */
  async function assertNewLogLines(text: string, before: number, expected: number): Promise<void> {
    const lines = await logLinesUpToSentinel(server, text);
    assert.equal(lines.length - before, expected, server.output().slice(-3000));
  }

  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await Promise.all([calmSub.close(), calmPub.close()]);
    assert.equal(await server.stop(), 0);
  });

  test('malformed and percent-garbage paths get a documented status and a JSON error, never a 500', T, async () => {
    const topics = [
      '%', '%G1', '%C0%AF', '%ED%A0%80', '%FF%FE', '%00', 'a%0Ab', 'a%7F', '%2e%2e', '..', '.', 'a/./b', 'a//b', '', 'a/',
      '%2F', 'a%2F%2Fb', 'a/'.repeat(40) + 'a', 'x'.repeat(2000), '%%%%', '%E0%A4%A', 'ok?%', 'ok?echo=%E0%A4%A', 'ok#frag',
      'caf\u00e9', '\u0001',
    ];
    const refusedBefore = logLines(server, 'refused').length;
    let refusals = 0;
    const seen = new Set<number>();
    for (const topic of topics) {
      for (const route of ['sub', 'pub', 'bus', 'push', 'pull']) {
        const path = `/${route}/${topic}`;
        const asUpgrade = await rawExchange(server.httpUrl, Buffer.from(upgradeRequest(server.httpUrl, path), 'utf8'));
        // (No POSTs to push: one that is accepted would wait in a queue after the test.)
        const asPost = route === 'push' ? undefined : await rawExchange(server.httpUrl, Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`, 'utf8'));
        for (const [how, response] of [['upgrade', asUpgrade], ['POST', asPost]] as const) {
          if (response === undefined) continue;
          const status = statusOf(response);
          seen.add(status);
          assert.ok([101, 200, 400, 404, 426].includes(status), `${how} ${JSON.stringify(path)} answered ${JSON.stringify(response.slice(0, 300))}`);
          if (status === 400 || status === 404) {
            const body = response.slice(response.indexOf('\r\n\r\n') + 4);
            assert.equal(typeof JSON.parse(body).error, 'string', `${how} ${JSON.stringify(path)}: JSON error body, got ${body}`);
          }
          if (status === 400) refusals++;
          if (how === 'POST' && route === 'pull' && status !== 400) assert.equal(status, 404, 'pull has no POST');
        }
      }
    }
    assert.ok(seen.has(400) && seen.has(101), `statuses seen: ${[...seen]}`);
    // One line for each refused client, no more, no less.
    await assertNewLogLines('refused', refusedBefore, refusals);
  });

  test('dot segments mean the same on an upgrade as on a POST (resolved as URL parsing does)', T, async () => {
    // Sent raw: WebSocket and fetch clients resolve dot segments themselves before sending.
    const plain = await rawUpgrade(server.httpUrl, '/sub/news/../dots');
    const encoded = await rawUpgrade(server.httpUrl, '/sub/news/%2e%2E/dots');
    await waitForStats(server, (s) => s.subscribers === 3);
    const post = await rawExchange(server.httpUrl, 'POST /pub/x/y/%2e%2e/../dots HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none');
    assert.equal(statusOf(post), 200, post);
    for (const raw of [plain, encoded]) {
      const message = await raw.waitForFrame((f) => f.opcode === OPCODE.text);
      assert.equal(message.payload.toString(), 'one');
    }
    // A ".." that only decoding produces (an encoded slash around it) is a topic segment: refused.
    assert.equal((await refusedUpgrade(`${server.wsUrl}/sub/a%2F..%2Fdots`)).status, 400);
    assert.equal((await fetch(`${server.httpUrl}/pub/a%2F..%2Fdots`, { method: 'POST', body: 'two' })).status, 400);
    plain.destroy();
    encoded.destroy();
  });

  test('request lines and headers Node itself refuses are answered 400 with one log line', T, async () => {
    const garbage = [
      'GARBAGE\r\n\r\n',
      'GET /sub/a HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /sub/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /sub/a HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
      'GET /sub/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'POST /pub/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n',
      'GET /sub/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: \x01\r\n\r\n',
      'GET /sub/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    ];
    const before = logLines(server, 'refused').length;
    for (const request of garbage) {
      const response = await rawExchange(server.httpUrl, Buffer.from(request, 'latin1'));
      assert.equal(statusOf(response), 400, `${JSON.stringify(request)} → ${JSON.stringify(response)}`);
    }
    await assertNewLogLines('refused', before, garbage.length);
  });

  test('invalid UTF-8 in a text frame closes that socket with 1007, on every route', T, async () => {
    const watcher = await open(`${server.wsUrl}/sub/utf8`);
    const cases: Array<[string, Buffer[]]> = [
      ['pub', [frame(OPCODE.text, Buffer.from([0x68, 0xc3, 0x28]))]],
      ['pub', [frame(OPCODE.text, Buffer.from([0xe2, 0x82]), { fin: false }), frame(OPCODE.continuation, Buffer.from([0x28]))]],
      ['pub', [frame(OPCODE.text, Buffer.from([0xed, 0xa0, 0x80]))]], // a UTF-16 surrogate
      ['pub', [frame(OPCODE.text, Buffer.from([0xf4, 0x90, 0x80, 0x80]))]], // past U+10FFFF
      ['pub', [frame(OPCODE.close, Buffer.concat([closePayload(1000), Buffer.from([0xff])]))]], // close reason
      ['sub', [frame(OPCODE.text, Buffer.from([0xc0, 0xaf]))]],
      ['bus', [frame(OPCODE.text, Buffer.from([0x80]))]],
      ['push', [frame(OPCODE.text, Buffer.from([0xfe]))]],
      ['pull', [frame(OPCODE.text, Buffer.from([0xc3]))]],
    ];
    const before = logLines(server, 'closed WebSocket').length;
    for (const [route, frames] of cases) {
      const raw = await rawUpgrade(server.httpUrl, `/${route}/utf8`);
      raw.send(...frames);
      assert.equal(await raw.closeCode(), 1007, `${route} ${raw.describe()}`);
      await raw.ended;
    }
    // Every broken frame was handled (its socket closed) before this POST: the watcher's first
    // message is the sentinel, or something of a broken frame came before it.
    assert.equal((await fetch(`${server.httpUrl}/pub/utf8`, { method: 'POST', body: 'sentinel' })).status, 200);
    assert.deepEqual(await watcher.waitFor(1), [{ data: 'sentinel', binary: false }], 'nothing of a broken frame was delivered');
    // One line per client closed for a protocol error.
    await assertNewLogLines('closed WebSocket', before, cases.length);
    await watcher.close();
  });

  test('fragmented messages with control frames in between are put together; the pings answered', T, async () => {
    const watcher = await open(`${server.wsUrl}/sub/fragments`);
    const raw = await rawUpgrade(server.httpUrl, '/pub/fragments');
    raw.send(
      frame(OPCODE.text, 'Hel', { fin: false }),
      frame(OPCODE.ping, 'p1'),
      frame(OPCODE.continuation, 'lo ', { fin: false }),
      frame(OPCODE.pong, 'unasked'),
      frame(OPCODE.ping, 'p2'),
      frame(OPCODE.continuation, 'wörld'),
    );
    const binary = Buffer.from([0, 1, 2, 255, 254, 253]);
    raw.send(
      frame(OPCODE.binary, binary.subarray(0, 2), { fin: false }),
      frame(OPCODE.continuation, Buffer.alloc(0), { fin: false }),
      frame(OPCODE.ping, ''),
      frame(OPCODE.continuation, binary.subarray(2)),
    );
    const [text, bytes] = await watcher.waitFor(2);
    assert.equal(text!.data, 'Hello wörld');
    assert.equal(text!.binary, false);
    assert.deepEqual(bytes!.data, binary);
    assert.equal(bytes!.binary, true);
    await raw.waitForFrame((f) => f.opcode === OPCODE.pong && f.payload.toString() === 'p1');
    await raw.waitForFrame((f) => f.opcode === OPCODE.pong && f.payload.toString() === 'p2');
    // A clean close is answered with a close.
    raw.send(frame(OPCODE.close, closePayload(1000, 'bye')));
    assert.equal(await raw.closeCode(), 1000);
    raw.destroy();
    await watcher.close();
  });

  test('protocol violations close that socket with 1002; nothing of them is delivered', T, async () => {
    const watcher = await open(`${server.wsUrl}/sub/violations`);
    const violations: Array<[string, Buffer[]]> = [
      ['continuation with nothing to continue', [frame(OPCODE.continuation, 'x')]],
      ['a new message inside a fragmented one', [frame(OPCODE.text, 'a', { fin: false }), frame(OPCODE.text, 'b')]],
      ['a fragmented ping', [frame(OPCODE.ping, 'p', { fin: false }), frame(OPCODE.continuation, 'q')]],
      ['a control frame over 125 bytes', [frame(OPCODE.ping, 'p'.repeat(126))]],
      ['an unmasked client frame', [frame(OPCODE.text, 'naked', { mask: false })]],
      ['a reserved bit set', [Buffer.from([0xc1, 0x80, 0, 0, 0, 0])]],
      ['a reserved data opcode', [frame(0x3, 'x')]],
      ['a reserved control opcode', [frame(0xb, 'x')]],
      ['a one-byte close payload', [frame(OPCODE.close, Buffer.from([3]))]],
      ['a close code no one may send', [frame(OPCODE.close, closePayload(1005))]],
      ['a 64-bit length with the top bit set', [Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])]],
    ];
    for (const [what, frames] of violations) {
      const raw = await rawUpgrade(server.httpUrl, '/pub/violations');
      raw.send(...frames);
      const code = await raw.closeCode();
      // A length past maxMessageSize is refused as too big before it is seen to be illegal.
      assert.ok(code === 1002 || (what.startsWith('a 64-bit') && code === 1009), `${what}: closed with ${code}`);
      await raw.ended;
    }
    // As above: each violating socket was closed before the sentinel was published.
    assert.equal((await fetch(`${server.httpUrl}/pub/violations`, { method: 'POST', body: 'sentinel' })).status, 200);
    assert.deepEqual(await watcher.waitFor(1), [{ data: 'sentinel', binary: false }], 'nothing of a violation was delivered');
    await watcher.close();
  });

  test('huge headers and request lines get 431; the broker does not buffer them', T, async () => {
    const huge = 'h'.repeat(64 * 1024);
    const cases = [
      upgradeRequest(server.httpUrl, '/sub/huge', { 'X-Huge': huge }),
      upgradeRequest(server.httpUrl, '/sub/huge', { Origin: `http://${huge}.example` }),
      upgradeRequest(server.httpUrl, `/sub/${huge}`),
      `POST /pub/huge HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `X-Many-${i}: ${'v'.repeat(64)}\r\n`).join('')}Content-Length: 1\r\n\r\nx`,
      `GET /stats HTTP/1.1\r\nHost: x\r\nCookie: ${huge}\r\n\r\n`,
    ];
    for (const request of cases) {
      const response = await rawExchange(server.httpUrl, request);
      assert.equal(statusOf(response), 431, JSON.stringify(response.slice(0, 200)));
    }
  });

  test('half-open upgrades (head never finished, or request sent and the client gone) hold no slot and block no one', T, async () => {
    const s0 = await stats(server);
    // Upgrade heads that never reach their blank line.
    const unfinished = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const socket = await tcpConnect(server.httpUrl);
        socket.on('error', () => {});
        socket.write(upgradeRequest(server.httpUrl, `/sub/half/${i}`).slice(0, -2 - (i % 20)));
        return socket;
      }),
    );
    // Whole upgrade requests whose client half-closes at once (FIN) without waiting for the 101.
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const socket = await tcpConnect(server.httpUrl);
        socket.on('error', () => {});
        socket.end(upgradeRequest(server.httpUrl, `/sub/gone/${i}`));
      }),
    );
    // Meanwhile an ordinary client gets in and is served.
    const fresh = await open(`${server.wsUrl}/sub/calm`);
    await calmPub.send('meanwhile');
    await fresh.waitFor(1);
    calmCount++;
    await fresh.close();
    const s1 = await waitForStats(server, (s) => s.connections === s0.connections);
    assert.equal(s1.subscribers, s0.subscribers);
    for (const socket of unfinished) socket.destroy();
  });

  test('a flood of connects and closes, at every stage, leaves nothing behind', { timeout: 120_000 }, async () => {
    const jobs: Array<Promise<unknown>> = [];
    // TCP connections that send nothing.
    for (let i = 0; i < 200; i++) {
      jobs.push(
        tcpConnect(server.httpUrl).then((socket) => {
          socket.on('error', () => {});
          if (i % 2) socket.destroy();
          else socket.resetAndDestroy();
        }),
      );
    }
    // WebSockets closed at every moment: right away, after open, abruptly, politely.
    for (let i = 0; i < 200; i++) {
      jobs.push(
        new Promise<void>((resolve) => {
          const client = new (calmSub.socket.constructor as typeof import('ws').WebSocket)(`${server.wsUrl}/${['sub', 'pub', 'bus', 'push', 'pull'][i % 5]}/flood/${i % 7}`);
          client.on('error', () => {});
          client.on('close', () => resolve());
          if (i % 4 === 0) setImmediate(() => client.terminate());
          else
            client.on('open', () => {
              if (i % 4 === 1) client.terminate();
              else if (i % 4 === 2) client.close();
              else void client.send('hello', () => client.terminate());
            });
        }),
      );
    }
    // POSTs cut off in the middle of their body.
    for (let i = 0; i < 100; i++) {
      jobs.push(
        tcpConnect(server.httpUrl).then((socket) => {
          socket.on('error', () => {});
          socket.write(`POST /pub/flood HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(i)}`);
          setImmediate(() => socket.destroy());
        }),
      );
    }
    await Promise.all(jobs);
    // The push topic may hold what pushers sent before they went: drain it.
    const drains = await Promise.all(Array.from({ length: 7 }, (_, i) => open(`${server.wsUrl}/pull/flood/${i}`)));
    await waitForStats(server, (s) => s.queued === 0, 15_000);
    await Promise.all(drains.map((client) => client.close()));
  });
});
