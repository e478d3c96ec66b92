/**
 * Issue 15, finding 7: one publisher could cut every SSE subscriber. A 1 MiB message of line
 * breaks is a 7.3 MB SSE event (one `data: ` per line); the SSE backlog was counted in those
 * bytes, so with two such messages in flight every healthy loopback subscriber passed
 * `maxBufferedBytes` (4 MiB) and was cut as a slow consumer (20 of 20 on Node, 9 of 20 on Bun).
 * The backlog now counts the messages' own bytes, as a WebSocket subscriber's does: 20 healthy
 * subscribers get every message, none is cut.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, stats, waitForStats, type Launcher } from './helpers/server.ts';
import { bunCli } from './helpers/runtimes.ts';
import { SseCounter } from './helpers/sse-counter.ts';
import { waitUntil, assertAlive, assertNoStackTrace } from './helpers/checks.ts';

const SUBSCRIBERS = 20;
const MESSAGES = 3;
/** 1 MiB, the default maxMessageSize: the largest message a publisher may send. */
const LINE_BREAKS = '\n'.repeat(1024 * 1024);

const LAUNCHERS: Array<[string, Launcher]> = [
  ['node CLI', nodeCli],
  ['bun CLI', bunCli],
];

describe('SSE: a message whose encoding is many times its size does not cut healthy subscribers', () => {
  for (const [name, launch] of LAUNCHERS) {
    it(`${name}: ${SUBSCRIBERS} reading subscribers get ${MESSAGES} messages of 1 MiB of line breaks, none is cut`, { timeout: 120_000 }, async () => {
      const server = await launch(['-m', 'production']);
      const subscribers = Array.from({ length: SUBSCRIBERS }, () => new SseCounter(`${server.httpUrl}/sub/flood`));
      try {
        await Promise.all(subscribers.map((s) => s.opened));
        await waitForStats(server, (s) => s.subscribers === SUBSCRIBERS);
        // Published back to back, as one publisher's burst: each is in some subscriber's
        // backlog while the one before is still being written.
        const answers = await Promise.all(
          Array.from({ length: MESSAGES }, () => fetch(`${server.httpUrl}/pub/flood`, { method: 'POST', body: LINE_BREAKS })),
        );
        assert.deepEqual(answers.map((r) => r.status), Array(MESSAGES).fill(200));
        await waitUntil(
          () => `every subscriber to get ${MESSAGES} events; got ${subscribers.map((s) => s.dataEvents).join(',')}, ended ${subscribers.filter((s) => s.ended).length}, stats ${JSON.stringify(lastStats)}`,
          async () => {
            lastStats = await stats(server);
            return subscribers.every((s) => s.dataEvents === MESSAGES) || subscribers.some((s) => s.ended);
          },
          60_000,
        );
        const s = await stats(server);
        assert.equal(s.slowConsumerDisconnects, 0, `cut as slow consumers: ${JSON.stringify(s)}`);
        assert.equal(subscribers.filter((c) => c.ended).length, 0, 'no stream ended');
        assert.deepEqual(subscribers.map((c) => c.dataEvents), Array(SUBSCRIBERS).fill(MESSAGES));
        assert.equal(s.subscribers, SUBSCRIBERS);
      } finally {
        for (const subscriber of subscribers) subscriber.close();
        await waitForStats(server, (s) => s.connections === 0, 15_000).catch(() => {});
        assertAlive(server);
        assertNoStackTrace(server);
        await server.stop();
      }
    });
  }
});

let lastStats: unknown;
