/**
 * Rule 6 (README, "Limits and hardening": Origin), black-box against the CLI: with `--allow-origin`
 * set, a WebSocket or SSE request whose Origin is missing or matches no pattern answers 401 `Origin
 * check failed` on every route, before any upgrade; the allowlist is anchored (the Perl broker's
 * `example.com` let in `http://example.com.evil.net`). A POST is checked when it carries an Origin
 * (a browser's cross-site POST always does) and let through without one (curl, servers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, runCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { assertAlive, assertNoStackTrace, logLines, logLinesUpToSentinel } from './helpers/checks.ts';

const T = { timeout: 30_000 };
const ROUTES = ['sub', 'pub', 'bus', 'push', 'pull'];
const PATTERNS = ['example.com', '*.trusted.org', 'https://exact.net:8443'];

const ALLOWED = ['http://example.com', 'https://EXAMPLE.com:1234', 'http://a.trusted.org', 'https://x.y.trusted.org', 'https://exact.net:8443'];
const REFUSED = [
  'http://example.com.evil.net',
  'http://evilexample.com',
  'http://www.example.com',
  'http://example.com@evil.net',
  'http://trusted.org',
  'http://eviltrusted.org',
  'http://exact.net:8443',
  'https://exact.net',
  'https://exact.net:8444',
  'null',
  'example.com',
  '',
];

describe('origin allowlist (CLI --allow-origin, repeatable)', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli(PATTERNS.flatMap((pattern) => ['--allow-origin', pattern]));
  });
  after(async () => {
    assertAlive(server);
    assertNoStackTrace(server);
    await server.stop();
  });

  test('a WebSocket with no Origin, or one that matches no pattern, gets 401 on every route; one line each', T, async () => {
    const before = logLines(server, 'refused').length;
    let refusals = 0;
    for (const route of ROUTES) {
      for (const origin of [undefined, ...REFUSED]) {
        const refused = await refusedUpgrade(`${server.wsUrl}/${route}/guarded`, origin === undefined ? {} : { Origin: origin });
        assert.equal(refused.status, 401, `${route} ${JSON.stringify(origin)}`);
        assert.deepEqual(JSON.parse(refused.body), { error: 'Origin check failed' });
        refusals++;
      }
    }
    assert.equal((await logLinesUpToSentinel(server, 'refused')).length - before, refusals);
    const s = await stats(server);
    assert.equal(s.connections, 0, 'nothing was upgraded');
  });

  test('an Origin matching a pattern is let in on every route', T, async () => {
    for (const route of ROUTES) {
      for (const origin of ALLOWED) {
        const client = await open(`${server.wsUrl}/${route}/guarded`, { headers: { Origin: origin } });
        await client.close();
      }
    }
    await waitForStats(server, (s) => s.connections === 0);
  });

  test('the origin is checked before the topic and before the connection limit', T, async () => {
    // A bad topic from a bad origin hears about the origin (it learns nothing about topics).
    const refused = await refusedUpgrade(`${server.wsUrl}/sub/a//b`, { Origin: 'http://evil.net' });
    assert.equal(refused.status, 401);
    const badTopic = await refusedUpgrade(`${server.wsUrl}/sub/a//b`, { Origin: 'http://example.com' });
    assert.equal(badTopic.status, 400);
  });

  test('SSE: the same rule (401 without an allowed Origin, 200 with one)', T, async () => {
    for (const origin of [undefined, 'http://example.com.evil.net', 'http://evilexample.com']) {
      const response = await fetch(`${server.httpUrl}/sub/guarded`, { headers: { accept: 'text/event-stream', ...(origin ? { origin } : {}) } });
      assert.equal(response.status, 401, String(origin));
      assert.deepEqual(await response.json(), { error: 'Origin check failed' });
    }
    const controller = new AbortController();
    const allowed = await fetch(`${server.httpUrl}/sub/guarded`, { headers: { accept: 'text/event-stream', origin: 'http://a.trusted.org' }, signal: controller.signal });
    assert.equal(allowed.status, 200);
    await waitForStats(server, (s) => s.subscribers === 1);
    controller.abort();
    await waitForStats(server, (s) => s.connections === 0 && s.subscribers === 0);
  });

  test('POST: a wrong Origin gets 401 and publishes nothing; an allowed or absent one publishes', T, async () => {
    const subscriber = await open(`${server.wsUrl}/sub/posted`, { headers: { Origin: 'http://example.com' } });
    await waitForStats(server, (s) => s.subscribers === 1);
    for (const route of ['pub', 'bus', 'push']) {
      for (const origin of ['http://example.com.evil.net', 'http://evilexample.com', 'null']) {
        const response = await fetch(`${server.httpUrl}/${route}/posted`, { method: 'POST', body: 'evil', headers: { origin } });
        assert.equal(response.status, 401, `${route} ${origin}`);
        assert.deepEqual(await response.json(), { error: 'Origin check failed' });
      }
    }
    assert.equal((await stats(server)).queued, 0, 'no refused push was queued');
    assert.equal((await fetch(`${server.httpUrl}/pub/posted`, { method: 'POST', body: 'from a page', headers: { origin: 'https://exact.net:8443' } })).status, 200);
    assert.equal((await fetch(`${server.httpUrl}/pub/posted`, { method: 'POST', body: 'from curl' })).status, 200);
    const received = await subscriber.waitFor(2);
    assert.deepEqual(received.map((m) => m.data), ['from a page', 'from curl']);
    await subscriber.close();
  });

  test('routes that are neither WebSocket, SSE nor POST are not origin-checked', T, async () => {
    for (const path of ['/stats', '/metrics', '/healthz']) {
      const response = await fetch(`${server.httpUrl}${path}`, { headers: { origin: 'http://evil.net' } });
      assert.equal(response.status, 200, path);
    }
  });
});

describe('origin allowlist unset', () => {
  let server: RunningServer;
  before(async () => {
    server = await nodeCli([]);
  });
  after(async () => {
    await server.stop();
  });

  test('every origin, and none, is let in', T, async () => {
    for (const origin of [undefined, 'http://example.com.evil.net', 'null']) {
      const client = await open(`${server.wsUrl}/sub/open`, origin ? { headers: { Origin: origin } } : {});
      await client.close();
    }
    await waitForStats(server, (s) => s.connections === 0);
  });
});

describe('origin allowlist: bad patterns on the command line', () => {
  test('a malformed pattern is a usage error: one line, exit 2', T, async () => {
    for (const pattern of ['https://*.example.com', 'example.com/path', '*']) {
      const result = await runCli(['-l', 'http://127.0.0.1:0', '--allow-origin', pattern]);
      assert.equal(result.code, 2, `${pattern}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`allowOrigin.*${JSON.stringify(pattern).replace(/[*.?/]/g, '\\$&')}`));
    }
  });
});
