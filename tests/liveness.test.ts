/**
 * Pings and idle detection on every runtime, each with what it offers (README, "Limits and
 * liveness"): `ws` pings driven by the broker on Node, `idleTimeout` pings on Deno, and on Bun
 * either the broker's `ws.ping()` (short or odd intervals) or Bun's native
 * `sendPings`/`idleTimeout`. A peer that answers pings stays open however long it is silent (pongs
 * count as activity); a peer that does not answer is closed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type Launcher } from './helpers/server.ts';
import { bunCli, bunMounted, denoCli, nodeMounted } from './helpers/runtimes.ts';
import { TestClient } from './helpers/ws-client.ts';

/** Resolves once `client` has received `count` pings from the server. */
function pings(client: TestClient, count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    client.socket.on('ping', () => {
      if (++seen === count) resolve();
    });
  });
}

/** `promise`, or a failure naming `what` after `ms` (a hang guard, far above the expected time). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function checkLiveness(name: string, launch: Launcher, pingInterval: number, inactivityTimeout: number): void {
  it(`${name}: --ping-interval ${pingInterval} -i ${inactivityTimeout}: an answering peer outlives the inactivity timeout, a silent one is closed`, async () => {
    const server = await launch(['--ping-interval', String(pingInterval), '-i', String(inactivityTimeout)]);
    try {
      const answering = new TestClient(`${server.wsUrl}/sub/alive`);
      const deaf = new TestClient(`${server.wsUrl}/sub/alive`, { autoPong: false });
      const started = Date.now();
      const answeringPings = pings(answering, 3);
      await Promise.all([answering.opened, deaf.opened]);
      await waitForStats(server, (s) => s.subscribers === 2, 10_000);

      // The deaf peer is closed by the server; nothing is sent either way meanwhile.
      await within(deaf.closed, 30_000, 'the peer that does not answer pings was not closed');
      // The answering peer keeps being pinged, past the inactivity timeout, and stays open.
      let done = false;
      const closedEarly = answering.closed.then((close) => {
        if (!done) assert.fail(`the answering peer was closed: ${JSON.stringify(close)}`);
      });
      await Promise.race([answeringPings, closedEarly]);
      while (Date.now() - started < (inactivityTimeout + 1) * 1000) await Promise.race([pings(answering, 1), closedEarly]);
      assert.equal(answering.socket.readyState, answering.socket.OPEN);
      const now = await stats(server);
      assert.equal(now.subscribers, 1);
      assert.equal(now.connections, 1);
      assert.deepEqual(answering.received, []);
      // And it still works.
      await fetch(`${server.httpUrl}/pub/alive`, { method: 'POST', body: 'still here' });
      assert.deepEqual(await answering.waitFor(1, 10_000), [{ data: 'still here', binary: false }]);
      done = true;
      await answering.close();
    } finally {
      await server.stop();
    }
  });
}

describe('pings and idle detection', () => {
  checkLiveness('node CLI (ws pings)', nodeCli, 1, 3);
  checkLiveness('deno CLI (Deno idleTimeout)', denoCli, 1, 3);
  checkLiveness('bun CLI (ws.ping from the broker)', bunCli, 1, 3);
  // 2 × 4 s = Bun's idleTimeout 8: Bun pings by itself.
  checkLiveness('bun CLI (native sendPings/idleTimeout)', bunCli, 4, 6);
  checkLiveness('node, mounted (broker-hono/node)', nodeMounted, 1, 3);
  checkLiveness('bun, mounted (broker-hono/bun)', bunMounted, 4, 6);
});
