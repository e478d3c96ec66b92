/**
 * Rule 5 (README, "Limits and hardening": Liveness): the server pings every `pingInterval`; a peer
 * that has not answered by the next ping is closed and removed (its process frozen with SIGSTOP, or
 * a TCP peer that never answers), while a peer that answers stays; a socket with no frames either
 * way for `inactivityTimeout` is closed. Both are CLI flags and take fractions of a second.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { nodeCli, ROOT, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open } from './helpers/ws-client.ts';
import { OPCODE, frame, rawUpgrade } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace, waitUntil } from './helpers/checks.ts';

const T = { timeout: 60_000 };

/** A subscriber in its own process, so the test can freeze it (SIGSTOP) like a hung client. */
function subscriberProcess(url: string): Promise<ChildProcess> {
  const script = `
    import WebSocket from 'ws';
    const socket = new WebSocket(${JSON.stringify(url)});
    socket.on('open', () => console.log('open'));
    socket.on('close', (code) => { console.log('closed ' + code); process.exit(0); });
    socket.on('error', (error) => { console.log('error ' + error.message); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('open')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`subscriber process exited with ${code}: ${output}`)));
  });
}

describe('liveness: pings (CLI --ping-interval, in seconds, fractions allowed)', () => {
  let server: RunningServer;
  const children: ChildProcess[] = [];
  before(async () => {
    server = await nodeCli(['--ping-interval', '0.3']);
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('a subscriber whose process is frozen (SIGSTOP) is closed and removed; one that answers stays', T, async () => {
    const healthy = await open(`${server.wsUrl}/sub/alive`);
    const frozen = await subscriberProcess(`${server.wsUrl}/sub/alive`);
    children.push(frozen);
    await waitForStats(server, (s) => s.subscribers === 2 && s.connections === 2);
    assert.ok(frozen.kill('SIGSTOP'));
    // Gone after about two intervals (0.6 s); the bound here is only for a loaded machine.
    await waitForStats(server, (s) => s.subscribers === 1 && s.connections === 1, 15_000);
    // The healthy subscriber has answered every ping meanwhile and still gets messages.
    assert.equal(healthy.socket.readyState, healthy.socket.OPEN);
    await fetch(`${server.httpUrl}/pub/alive`, { method: 'POST', body: 'still here' });
    assert.equal((await healthy.waitFor(1))[0]!.data, 'still here');
    frozen.kill('SIGKILL');
    await healthy.close();
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('a TCP peer that reads but never answers pings is cut after it missed one', T, async () => {
    const silent = await rawUpgrade(server.httpUrl, '/sub/silent');
    await waitForStats(server, (s) => s.subscribers === 1);
    await silent.waitForFrame((f) => f.opcode === OPCODE.ping, 5000);
    // The next ping finds no pong: the server drops the connection without a closing handshake.
    await silent.ended;
    const s = await waitForStats(server, (x) => x.connections === 0);
    assert.equal(s.subscribers, 0);
    assert.equal(s.topics, 0);
  });

  test('every route is pinged: publishers, peers, pushers and pullers that stop answering are removed too', T, async () => {
    const peers = await Promise.all(['pub', 'bus', 'push', 'pull'].map((route) => rawUpgrade(server.httpUrl, `/${route}/silent`)));
    await waitForStats(server, (s) => s.connections === 4);
    await Promise.all(peers.map((peer) => peer.ended));
    const s = await waitForStats(server, (x) => x.connections === 0);
    assert.equal(s.publishers + s.peers + s.pushers + s.pullers, 0);
  });

  test('a peer that answers pings by hand stays connected through many intervals', T, async () => {
    const raw = await rawUpgrade(server.httpUrl, '/sub/answering');
    const answered = new Set<unknown>();
    const timer = setInterval(() => {
      for (const f of raw.frames) {
        if (f.opcode === OPCODE.ping && !answered.has(f)) {
          answered.add(f);
          raw.send(pong(f.payload));
        }
      }
    }, 20);
    try {
      await waitUntil('pings to keep coming', () => answered.size >= 6, 15_000);
      assert.equal(raw.socket.destroyed, false);
      assert.equal((await stats(server)).subscribers, 1);
    } finally {
      clearInterval(timer);
      raw.destroy();
    }
    await waitForStats(server, (s) => s.connections === 0);
  });
});

describe('liveness: inactivity timeout (CLI -i/--inactivity-timeout)', () => {
  let server: RunningServer;
  before(async () => {
    // Pings far apart, so only the inactivity rule is at work.
    server = await nodeCli(['-i', '0.5', '--ping-interval', '600']);
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('a socket with no frames either way is closed (1000, "inactivity timeout"); one with traffic stays', T, async () => {
    const idle = await open(`${server.wsUrl}/sub/quiet`);
    const talker = await open(`${server.wsUrl}/pub/elsewhere`);
    const listener = await open(`${server.wsUrl}/sub/busy`);
    const busyPublisher = setInterval(() => void fetch(`${server.httpUrl}/pub/busy`, { method: 'POST', body: 'tick' }).catch(() => {}), 100);
    const talking = setInterval(() => void talker.send('chatter').catch(() => {}), 100);
    try {
      const closed = await idle.closed;
      assert.equal(closed.code, 1000);
      assert.equal(closed.reason, 'inactivity timeout');
      // Past three timeouts, the sockets with traffic (sent by them, or to them) are still open.
      // Time passing is what is under test here, so this waits on the clock, not on a message.
      await delay(1500);
      assert.equal(talker.socket.readyState, talker.socket.OPEN, 'a client that sends stays');
      assert.equal(listener.socket.readyState, listener.socket.OPEN, 'a client that receives stays');
    } finally {
      clearInterval(busyPublisher);
      clearInterval(talking);
    }
    await Promise.all([talker.close(), listener.close()]);
    const s = await waitForStats(server, (x) => x.connections === 0);
    assert.equal(s.subscribers, 0);
  });

  test('a client that only pings counts as active (its pings are frames)', T, async () => {
    const raw = await rawUpgrade(server.httpUrl, '/sub/pinger');
    const timer = setInterval(() => raw.send(ping('are you there')), 100);
    try {
      await delay(1500); // three inactivity timeouts: the clock is what is under test
      assert.equal(raw.socket.destroyed, false);
      assert.equal(raw.frames.filter((f) => f.opcode === OPCODE.close).length, 0);
      assert.ok(raw.frames.some((f) => f.opcode === OPCODE.pong), 'the server answers pings');
    } finally {
      clearInterval(timer);
    }
    // Once it falls silent, it is closed like any other.
    assert.equal(await raw.closeCode(5000), 1000);
    raw.destroy();
    await waitForStats(server, (x) => x.connections === 0);
  });
});

function pong(payload: Buffer): Buffer {
  return frame(OPCODE.pong, payload);
}

function ping(payload: string): Buffer {
  return frame(OPCODE.ping, payload);
}
