/**
 * Issue 15, finding 6 and part of 9: every bad request gets a 4xx JSON answer and at most one
 * log line; no runtime error page, no 500, no stack trace; a client that merely leaves in the
 * middle of its request is not logged at all. Raw sockets against the Node, Bun and Deno CLIs.
 *
 * What was found: the app's 404 and error handlers called `new URL(request.url)`, which throws
 * on some requests. Bun answered `Host: a b`, `Host: x:99999` and unknown paths with such hosts
 * with its 50 KB development error page (working directory, absolute paths, source lines) and
 * ~11 log lines each; Node answered `Host: x:99999` with `Upgrade: foo` 500, its own refusals of
 * backslash paths and `OPTIONS *` had empty bodies, CONNECT was dropped unanswered, and every
 * client that closed its side mid-request was logged as "refused client: 400
 * HPE_INVALID_EOF_STATE" (19,978 lines in one load test). Deno routed `Host: a b` as if it were
 * valid (`GET /stats` answered 200).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nodeCli, waitForStats, type Launcher, type RunningServer } from './helpers/server.ts';
import { bunCli, denoCli } from './helpers/runtimes.ts';
import { rawExchange, statusOf, tcpConnect } from './helpers/raw-ws.ts';
import { assertAlive, assertNoStackTrace, waitForOutput } from './helpers/checks.ts';
import { BAD_REQUESTS, LEAVING_REQUESTS, NODE_ONLY_BAD_REQUESTS } from './helpers/bad-requests.ts';

const T = { timeout: 60_000 };
const RUNTIMES: Array<[string, Launcher, string[]]> = [
  ['node CLI', nodeCli, [...BAD_REQUESTS, ...NODE_ONLY_BAD_REQUESTS]],
  ['bun CLI', bunCli, BAD_REQUESTS],
  // Deno's HTTP layer answers a CONNECT to a path with a bare 400 of its own, before JavaScript.
  ['deno CLI', denoCli, BAD_REQUESTS.filter((request) => !request.startsWith('CONNECT /'))],
];

for (const [name, launch, requests] of RUNTIMES) {
  describe(`${name}: bad requests and clients that leave`, () => {
    let server: RunningServer;

    before(async () => {
      server = await launch(['-m', 'production']);
      // The start-up lines are all out before any test counts lines.
      await waitForOutput(server, (text) => text.includes('in production mode'));
    });
    after(async () => {
      assertAlive(server);
      assertNoStackTrace(server);
      await server.stop();
    });

    it('every bad request is a 4xx with a short JSON error body and at most one log line', T, async () => {
      const linesBefore = server.output().split('\n').length;
      for (const request of requests) {
        const answer = await rawExchange(server.httpUrl, Buffer.from(request, 'latin1'));
        const status = statusOf(answer);
        const shown = `${JSON.stringify(request)} → ${JSON.stringify(answer.slice(0, 400))}`;
        assert.ok(status >= 400 && status < 500, `not a 4xx: ${shown}`);
        const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
        assert.ok(body.length < 1000, `a ${body.length}-byte body (an error page?): ${shown}`);
        assert.equal(typeof (JSON.parse(body) as { error?: unknown }).error, 'string', `no JSON error body: ${shown}`);
        assert.doesNotMatch(answer, /\/work\/|node_modules|\.ts:\d+/, `the answer shows the server's files: ${shown}`);
      }
      // Every answer is in, and each refusal was logged as it was answered.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const added = server.output().split('\n').length - linesBefore;
      assert.ok(added <= requests.length, `${added} log lines for ${requests.length} bad requests:\n${server.output().slice(-3000)}`);
      assertNoStackTrace(server);
    });

    it('clients that leave mid-request (half a head, half a body; closed or reset) are not logged', T, async () => {
      const linesBefore = server.output().split('\n').length;
      await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const socket = await tcpConnect(server.httpUrl);
          socket.on('error', () => {});
          await new Promise<void>((resolve) => socket.write(LEAVING_REQUESTS[i % LEAVING_REQUESTS.length]!, () => resolve()));
          await new Promise((resolve) => setTimeout(resolve, 50));
          // Half of them close their side politely (FIN), half reset the connection.
          if (i % 2) socket.end();
          else socket.resetAndDestroy();
          // (Bounded: what matters here is the log, not how soon the server lets go.)
          await Promise.race([new Promise((resolve) => socket.once('close', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))]);
          socket.destroy();
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await waitForStats(server, (s) => s.connections === 0);
      const added = server.output().split('\n').slice(linesBefore - 1).filter((line) => line.trim() !== '');
      assert.deepEqual(added, [], 'nothing logged for clients that went away');
    });
  });
}
