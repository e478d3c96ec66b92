/**
 * Rule 3 (README, "Limits and hardening": Slow consumers): a receiver whose unsent backlog passes
 * `maxBufferedBytes` is closed with 1013 and counted; a healthy subscriber on the same topic gets
 * everything; the server's memory stays bounded while stalled subscribers sit on the topic.
 *
 * Black-box on purpose: whatever the send path (plain `ws.send`, a framed-once or corked path), the
 * backlog the rule watches must include every byte not yet handed to the network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, spawnBroker, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open } from './helpers/ws-client.ts';
import { rawUpgrade } from './helpers/raw-ws.ts';
import { MiB, assertAlive, assertNoStackTrace, heap } from './helpers/checks.ts';

const MAX_BUFFERED = 256 * 1024;
const MESSAGE_BYTES = 64 * 1024;
/**
 * Far more than loopback TCP buffers can absorb (a few MB each way) plus the backlog limit, so a
 * stalled reader really does back up into the server.
 */
const MESSAGES = 640; // 40 MiB
const BATCH = 8;

describe('slow consumers (CLI --max-buffered-bytes)', () => {
  let server: RunningServer;
  before(async () => {
    server = await spawnBroker(process.execPath, ['--expose-gc', CLI, '-l', 'http://127.0.0.1:0', '--max-buffered-bytes', String(MAX_BUFFERED), '--max-message-size', String(MESSAGE_BYTES * 2)], {
      env: { BROKER_DEBUG_HEAP: '1' },
    });
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('stalled subscribers are closed with 1013 and counted; a healthy one gets every message; memory stays bounded', { timeout: 120_000 }, async () => {
    const before = await heap(server);
    assert.equal(before.gc, true);

    const healthy = await open(`${server.wsUrl}/sub/firehose/all`);
    // A subscriber on the parent topic gets the same messages and is just as healthy.
    const healthyParent = await open(`${server.wsUrl}/sub/firehose`);
    // Completes the handshake, then never reads a byte.
    const stalled = await rawUpgrade(server.httpUrl, '/sub/firehose/all', { read: false });
    // A well-behaved client whose process stops reading for a while (paused socket).
    const paused = await open(`${server.wsUrl}/sub/firehose`);
    const pausedSocket = (paused.socket as unknown as { _socket: import('node:net').Socket })._socket;
    pausedSocket.pause();
    const pub = await open(`${server.wsUrl}/pub/firehose/all`);
    await waitForStats(server, (s) => s.subscribers === 4 && s.publishers === 1);

    // The publisher keeps pace with the healthy subscribers (so they never back up themselves),
    // and pushes far more than the stalled ones can take.
    let peak = before;
    for (let sent = 0; sent < MESSAGES; ) {
      for (let i = 0; i < BATCH; i++, sent++) {
        const message = Buffer.alloc(MESSAGE_BYTES, sent % 251);
        message.writeUInt32BE(sent, 0);
        void pub.send(message);
      }
      await healthy.waitFor(sent, 20_000);
      await healthyParent.waitFor(sent, 20_000);
      if (sent % (BATCH * 16) === 0) {
        const now = await heap(server);
        if (now.rss > peak.rss) peak = now;
      }
    }

    // Every message reached the healthy subscribers, in order, byte for byte.
    for (const client of [healthy, healthyParent]) {
      assert.equal(client.received.length, MESSAGES);
      client.received.forEach((message, index) => {
        assert.equal(message.binary, true);
        assert.equal((message.data as Buffer).readUInt32BE(0), index);
        assert.equal((message.data as Buffer).length, MESSAGE_BYTES);
      });
    }

    // Both slow ones were dropped and counted; the healthy ones are still subscribed.
    const after = await waitForStats(server, (s) => s.slowConsumerDisconnects === 2);
    assert.equal(after.subscribers, 2);
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(metrics, /^broker_slow_consumer_disconnects_total 2$/m);

    // The server never held on to the stalled subscribers' share of the 40 MiB: what it holds is
    // bounded by the backlog limit per stalled socket, not by how much was published.
    const held = await heap(server);
    const grown = held.arrayBuffers + held.heapUsed - (before.arrayBuffers + before.heapUsed);
    assert.ok(grown < 8 * MiB, `server memory grew by ${(grown / MiB).toFixed(1)} MiB while stalled subscribers sat on the topic`);
    assert.ok(peak.rss - before.rss < 64 * MiB, `server RSS grew by ${((peak.rss - before.rss) / MiB).toFixed(1)} MiB`);

    // The paused client, once it reads again, drains what was sent before the cut and then finds
    // the 1013 close: it learns why it was dropped.
    pausedSocket.resume();
    const closed = await paused.closed;
    assert.equal(closed.code, 1013);
    assert.equal(closed.reason, 'slow consumer');
    assert.ok(paused.received.length < MESSAGES, 'the slow client was cut off before the end');
    paused.received.forEach((message, index) => assert.equal((message.data as Buffer).readUInt32BE(0), index, 'what it got is an unbroken prefix'));

    stalled.destroy();
    await Promise.all([healthy.close(), healthyParent.close(), pub.close()]);
    const end = await waitForStats(server, (s) => s.connections === 0);
    assert.equal(end.subscribers, 0);
    assert.equal(end.slowConsumerDisconnects, 2);
  });

  test('a slow puller and a slow bus peer are dropped the same way, and push/bus traffic carries on', { timeout: 120_000 }, async () => {
    const base = (await stats(server)).slowConsumerDisconnects;
    const stalledPuller = await rawUpgrade(server.httpUrl, '/pull/jobs', { read: false });
    const stalledPeer = await rawUpgrade(server.httpUrl, '/bus/room', { read: false });
    const peer = await open(`${server.wsUrl}/bus/room`);
    const sender = await open(`${server.wsUrl}/bus/room`);
    await waitForStats(server, (s) => s.pullers === 1 && s.peers === 3);

    const body = Buffer.alloc(MESSAGE_BYTES, 1);
    for (let sent = 0; sent < MESSAGES; ) {
      for (let i = 0; i < BATCH; i++, sent++) void sender.send(body);
      await peer.waitFor(sent, 20_000);
    }
    // Pushing goes round robin; with one stalled puller it backs up until the puller is dropped,
    // after which messages queue for the next puller instead of being lost.
    let pushed = 0;
    while ((await stats(server)).slowConsumerDisconnects < base + 2 && pushed < MESSAGES) {
      const response = await fetch(`${server.httpUrl}/push/jobs`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(response.status, 200);
      pushed++;
    }
    const s = await waitForStats(server, (x) => x.slowConsumerDisconnects === base + 2);
    assert.equal(s.pullers, 0);
    assert.equal(s.peers, 2);
    // After the drop, pushes wait in the queue for a healthy puller.
    assert.equal((await fetch(`${server.httpUrl}/push/jobs`, { method: 'POST', body: 'after' })).status, 200);
    const puller = await open(`${server.wsUrl}/pull/jobs`);
    await puller.waitFor(1);
    assert.equal(puller.received.at(-1)!.data, 'after');

    stalledPuller.destroy();
    stalledPeer.destroy();
    await Promise.all([peer.close(), sender.close(), puller.close()]);
    await waitForStats(server, (x) => x.connections === 0 && x.queued === 0);
  });
});
