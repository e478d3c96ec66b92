/**
 * Rule 2 (README, "Limits and hardening": Connections): past `maxConnections` a new WebSocket
 * request answers 503 before any upgrade, handshakes in flight cannot overshoot the limit, and a
 * handshake that never completes gives its slot back (no slot leaks, so the limit never shrinks).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats } from './helpers/server.ts';
import { open, refusedUpgrade, type TestClient } from './helpers/ws-client.ts';
import { rawExchange, rawUpgrade, statusOf, tcpConnect, upgradeRequest, type RawWebSocket } from './helpers/raw-ws.ts';
import { logLines, serverForSuite } from './helpers/checks.ts';

const MAX = 5;
const T = { timeout: 30_000 };

describe('connection limit (CLI -c/--clients)', () => {
  const broker = serverForSuite(() => nodeCli(['-c', String(MAX)]));

  /** Opens MAX WebSockets, which must all succeed: proof that no slot has leaked. */
  async function fillUp(): Promise<TestClient[]> {
    const routes = ['sub/a', 'pub/a', 'bus/a', 'push/a', 'pull/a'];
    const clients = await Promise.all(Array.from({ length: MAX }, (_, i) => open(`${broker().wsUrl}/${routes[i % routes.length]}`)));
    await waitForStats(broker(), (s) => s.connections === MAX);
    return clients;
  }

  /** `fillUp`, retried while slots are still held by handshakes in flight, for at most `ms`. */
  async function fillUpWithin(ms: number): Promise<TestClient[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const attempts = await Promise.allSettled(Array.from({ length: MAX }, (_, i) => open(`${broker().wsUrl}/sub/retry/${i}`)));
      const clients = attempts.filter((a): a is PromiseFulfilledResult<TestClient> => a.status === 'fulfilled').map((a) => a.value);
      if (clients.length === MAX) return clients;
      await closeAll(clients);
      if (Date.now() > deadline) throw new Error(`only ${clients.length} of ${MAX} slots came back within ${ms} ms: ${JSON.stringify(await stats(broker()))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function closeAll(clients: Array<TestClient | RawWebSocket>): Promise<void> {
    await Promise.all(clients.map((client) => ('destroy' in client ? client.destroy() : client.close())));
    await waitForStats(broker(), (s) => s.connections === 0);
  }

  test('past the limit a WebSocket request answers 503 with a JSON body, before any upgrade; POST is not counted', T, async () => {
    const clients = await fillUp();
    const refusedBefore = (await stats(broker())).refused;
    for (const route of ['sub', 'pub', 'bus', 'push', 'pull']) {
      const refused = await refusedUpgrade(`${broker().wsUrl}/${route}/b`);
      assert.equal(refused.status, 503, route);
      assert.match(JSON.parse(refused.body).error, /maxConnections/);
      assert.equal(refused.headers['retry-after'], '1');
    }
    const s = await stats(broker());
    assert.equal(s.connections, MAX);
    assert.equal(s.refused, refusedBefore + 5);
    assert.equal(logLines(broker(), /refused GET \/(sub|pub|bus|push|pull)\/b: 503 maxConnections/).length >= 5, true);
    // Publishing by POST holds no connection and still works at the limit.
    assert.equal((await fetch(`${broker().httpUrl}/pub/a`, { method: 'POST', body: 'x' })).status, 200);

    // A slot freed is a slot available again.
    await clients.pop()!.close();
    await waitForStats(broker(), (s) => s.connections === MAX - 1);
    clients.push(await open(`${broker().wsUrl}/sub/again`));
    assert.equal((await refusedUpgrade(`${broker().wsUrl}/sub/again`)).status, 503);
    await closeAll(clients);
  });

  test('many handshakes at once cannot overshoot the limit', T, async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => rawUpgrade(broker().httpUrl, `/sub/burst/${i}`)));
    const accepted = attempts.filter((a): a is PromiseFulfilledResult<RawWebSocket> => a.status === 'fulfilled').map((a) => a.value);
    const refused = attempts.filter((a) => a.status === 'rejected');
    assert.equal(accepted.length, MAX);
    for (const failure of refused) assert.match(String((failure as PromiseRejectedResult).reason), /503/);
    assert.equal((await stats(broker())).connections, MAX);
    await closeAll(accepted);
    await closeAll(await fillUp());
  });

  test('a client that leaves in the middle of its handshake gives its slot back', T, async () => {
    // Each sends a complete upgrade request and is gone before (or while) the 101 is written.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = await tcpConnect(broker().httpUrl);
        socket.on('error', () => {});
        socket.write(upgradeRequest(broker().httpUrl, `/sub/vanish/${i}`));
        // A FIN (destroy) or a reset (resetAndDestroy), at once or a moment later.
        const leave = () => (i % 2 ? socket.destroy() : socket.resetAndDestroy());
        if (i % 4 < 2) leave();
        else setImmediate(leave);
      }),
    );
    await waitForStats(broker(), (s) => s.connections === 0);
    // Their handshakes may still be in flight for a moment; the slots must come back well before
    // the 10 s handshake deadline that is only a backstop.
    await closeAll(await fillUpWithin(5000));
  });

  test('a handshake the WebSocket layer refuses (bad key or version) answers 400 and gives its slot back', T, async () => {
    for (let i = 0; i < MAX * 3; i++) {
      const badVersion = i % 2 === 1;
      const response = await rawExchange(broker().httpUrl, upgradeRequest(broker().httpUrl, '/sub/bad-handshake', { 'Sec-WebSocket-Version': badVersion ? '12' : '13', 'Sec-WebSocket-Key': badVersion ? 'dGhlIHNhbXBsZSBub25jZQ==' : 'short' }));
      assert.equal(statusOf(response), 400, response);
      if (badVersion) {
        assert.match(response, /"error":"unsupported Sec-WebSocket-Version/);
        // RFC 6455 §4.4: the refusal names the version the server speaks.
        assert.match(response, /\r\nsec-websocket-version: 13\r\n/i, response);
      } else {
        assert.match(response, /"error":"missing or invalid Sec-WebSocket-Key header"/);
      }
    }
    await closeAll(await fillUp());
  });

  test('a request that names WebSocket but is not a real upgrade answers 426 and gives its slot back', T, async () => {
    // `Upgrade: websocket` without `Connection: Upgrade` reaches the app as a plain GET.
    for (let i = 0; i < MAX * 2; i++) {
      const response = await rawExchange(broker().httpUrl, `GET /sub/not-really HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n`);
      assert.equal(statusOf(response), 426, response);
    }
    await closeAll(await fillUp());
  });

  test('connections opened and closed in churn always return to zero and to full capacity', T, async () => {
    for (let round = 0; round < 5; round++) {
      const clients = await fillUp();
      await closeAll(clients);
    }
    const s = await stats(broker());
    assert.equal(s.connections, 0);
    assert.equal(s.subscribers + s.publishers + s.peers + s.pushers + s.pullers, 0);
  });
});
