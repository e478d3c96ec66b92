/**
 * Churn against the real CLI: hundreds of sockets of every kind opened and closed at once, with
 * traffic, oversized frames, clients killed mid-handshake (raw TCP sockets that send half an
 * upgrade request, or a whole one, and vanish; ws clients terminated right after connecting) and
 * sockets dropped without a closing handshake. Afterwards every live counter in /stats must be
 * back at 0: nothing leaks in the registries, whatever order the events came in.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { TestClient } from './helpers/ws-client.ts';
import { LIVE_COUNTERS } from './helpers/blackbox-suite.ts';
import type { BrokerStats } from '../mod.ts';

const allLiveZero = (s: BrokerStats) => LIVE_COUNTERS.every((name) => s[name] === 0);

/** Deterministic pseudo-random numbers so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = ['sub', 'pub', 'bus', 'push', 'pull'] as const;

function pathFor(kind: (typeof KINDS)[number], i: number): string {
  const topic = ['churn', 'churn/a', 'churn/a/b', 'churn/c', 'other'][i % 5]!;
  return kind === 'bus' && i % 3 === 0 ? `/bus/${topic}?echo=1` : `/${kind}/${topic}`;
}

/** A raw TCP client that sends `bytes` of an upgrade request and is destroyed. */
function rawUpgrade(server: RunningServer, path: string, cut: 'half' | 'whole' | 'before-send'): Promise<void> {
  const { hostname, port } = new URL(server.httpUrl);
  const request =
    `GET ${new URL(server.httpUrl).pathname.replace(/\/$/, '')}${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname, () => {
      if (cut === 'before-send') socket.destroy();
      else if (cut === 'half') socket.write(request.slice(0, Math.floor(request.length / 2)), () => socket.destroy());
      else socket.write(request, () => socket.destroy());
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

describe('churn: sockets of every kind opened and closed at once', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['--max-message-size', '4096']);
  });
  after(async () => {
    await server.stop();
  });

  it('after hundreds of sockets come and go, in every way, every live counter is back at 0', async () => {
    const rand = random(20240611);
    for (let round = 0; round < 3; round++) {
      const clients: TestClient[] = [];
      const aborted: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const kind = KINDS[i % KINDS.length]!;
        const path = pathFor(kind, Math.floor(i / KINDS.length));
        const roll = rand();
        if (roll < 0.08) {
          aborted.push(rawUpgrade(server, path, 'half'));
        } else if (roll < 0.14) {
          aborted.push(rawUpgrade(server, path, 'whole'));
        } else if (roll < 0.17) {
          aborted.push(rawUpgrade(server, path, 'before-send'));
        } else if (roll < 0.25) {
          // A ws client killed the moment the server said yes.
          const client = new TestClient(server.wsUrl + path);
          client.socket.on('upgrade', () => client.socket.terminate());
          aborted.push(client.closed);
        } else if (roll < 0.3) {
          // A ws client killed before its TCP connection is even up.
          const client = new TestClient(server.wsUrl + path);
          client.socket.terminate();
          aborted.push(client.closed);
        } else {
          clients.push(new TestClient(server.wsUrl + path));
        }
      }
      const opened = await Promise.allSettled(clients.map((client) => client.opened));
      const live = clients.filter((_, i) => opened[i]!.status === 'fulfilled');
      assert.ok(live.length > 150, `most clients connected (${live.length})`);

      // Traffic while everything closes: text, binary, oversized frames (closed with 1009).
      const sends: Promise<unknown>[] = [];
      for (const client of live) {
        const roll = rand();
        const kind = new URL(client.socket.url).pathname.split('/')[1];
        if (kind === 'sub' || kind === 'pull') continue;
        if (roll < 0.1) sends.push(client.send(Buffer.alloc(5000, 1)).catch(() => {}));
        else if (roll < 0.6) sends.push(client.send(`m${round}`).catch(() => {}));
        else sends.push(client.send(Buffer.from([round, 0, 255])).catch(() => {}));
      }
      await Promise.all(sends);
      await Promise.all(
        live.map((client, i) => {
          const how = (i + round) % 3;
          if (how === 0) {
            client.socket.terminate();
            return client.closed;
          }
          return client.close(how === 1 ? 1000 : 4000);
        }),
      );
      await Promise.all(aborted);
      await Promise.allSettled(clients.map((client) => client.closed));
    }

    // Messages pushed while no puller was connected are still queued: they are not clients.
    // Drain them so the broker is empty, then every live counter must read 0.
    const afterChurn = await waitForStats(server, (s) => s.connections === 0, 20_000);
    assert.equal(afterChurn.subscribers, 0);
    assert.equal(afterChurn.peers, 0);
    assert.equal(afterChurn.pullers, 0);
    assert.equal(afterChurn.publishers, 0);
    assert.equal(afterChurn.pushers, 0);
    for (const topic of ['churn', 'churn/a', 'churn/a/b', 'churn/c', 'other']) {
      const puller = new TestClient(`${server.wsUrl}/pull/${topic}`);
      await puller.opened;
      await waitForStats(server, (s) => s.pullers === 1);
      await puller.close();
    }
    const final = await waitForStats(server, allLiveZero, 20_000);
    for (const name of LIVE_COUNTERS) assert.equal(final[name], 0, name);
    assert.ok(final.messagesIn! > 0, 'traffic flowed during the churn');

    // The broker is still healthy after all that.
    const subscriber = new TestClient(`${server.wsUrl}/sub/after`);
    await subscriber.opened;
    await waitForStats(server, (s) => s.subscribers === 1);
    assert.equal((await fetch(`${server.httpUrl}/pub/after`, { method: 'POST', body: 'still works' })).status, 200);
    assert.deepEqual((await subscriber.waitFor(1, 10_000))[0], { data: 'still works', binary: false });
    await subscriber.close();
    await waitForStats(server, allLiveZero, 10_000);
  });
});

describe('churn: a burst of upgrades against the connection limit', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(['-c', '25']);
  });
  after(async () => {
    await server.stop();
  });

  it('never lets in more than maxConnections, refuses the rest with 503, and frees every slot', async () => {
    const clients = Array.from({ length: 120 }, (_, i) => new TestClient(server.wsUrl + pathFor(KINDS[i % 5]!, i)));
    const results = await Promise.allSettled(clients.map((client) => client.opened));
    const accepted = clients.filter((_, i) => results[i]!.status === 'fulfilled');
    const refusedWith503 = results.filter((r) => r.status === 'rejected' && /503/.test(String(r.reason))).length;
    assert.equal(accepted.length, 25);
    assert.equal(refusedWith503, 95);
    assert.equal((await stats(server)).connections, 25);
    await Promise.all(accepted.map((client, i) => (i % 2 ? client.close() : (client.socket.terminate(), client.closed))));
    await waitForStats(server, (s) => s.connections === 0 && s.subscribers === 0 && s.peers === 0 && s.pullers === 0, 10_000);
    // Every slot is free again.
    const again = await Promise.all(Array.from({ length: 25 }, () => new TestClient(`${server.wsUrl}/sub/again`)).map(async (client) => (await client.opened, client)));
    await waitForStats(server, (s) => s.connections === 25);
    await Promise.all(again.map((client) => client.close()));
    await waitForStats(server, allLiveZero, 10_000);
  });
});
