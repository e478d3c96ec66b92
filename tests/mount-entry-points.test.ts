/**
 * The per-runtime entry points (`broker-hono/node`, `/deno`, `/bun`) as the README shows them:
 * the README's mounting snippets are the files in examples/ (byte for byte), each at most five
 * lines beyond the service's own app, and each is run for real (port 8080 made 0). A mounted
 * service survives 1,000 refused upgrades each followed by a TCP reset and still serves a
 * subscriber; SIGTERM gives every socket 1001. Plus what each runtime needs: the host's own
 * WebSocket routes beside the broker's, Bun's idle timeout lifted for SSE only, and no Deno
 * warning when an SSE client leaves.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT, spawnBroker, waitForStats, type RunningServer } from './helpers/server.ts';
import { BUN, DENO, bunMounted, denoMounted, nodeMounted } from './helpers/runtimes.ts';
import { upgradeRequest } from './helpers/raw-ws.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';
import { assertAlive } from './helpers/checks.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
// Inside the repository, so each runtime resolves `broker-hono/<runtime>` as the examples do
// (tsconfig.json's paths for tsx and Bun, deno.json's imports for Deno).
const RUN_DIR = join(ROOT, 'test-output', `snippets-${process.pid}`);
mkdirSync(RUN_DIR, { recursive: true });
after(() => rmSync(RUN_DIR, { recursive: true, force: true }));

interface Snippet {
  runtime: string;
  file: string;
  command: (path: string) => [string, string[]];
}

const SNIPPETS: Snippet[] = [
  { runtime: 'node', file: 'examples/node-mount.ts', command: (path) => [process.execPath, ['--import', TSX, path]] },
  { runtime: 'deno', file: 'examples/deno-mount.ts', command: (path) => [DENO, ['run', '-P', path]] },
  { runtime: 'bun', file: 'examples/bun-mount.ts', command: (path) => [BUN, ['run', path]] },
];

/** The ```ts block that follows `<!-- snippet: FILE -->` in the README. */
function readmeSnippet(file: string): string {
  const marker = README.indexOf(`<!-- snippet: ${file} -->`);
  assert.notEqual(marker, -1, `the README marks the snippet of ${file}`);
  const block = /```ts\n([\s\S]*?)```/.exec(README.slice(marker));
  assert.ok(block, `a ts block after the marker of ${file}`);
  return block[1]!;
}

/** Starts a README snippet as a user would, on a free port instead of 8080. */
function startSnippet(snippet: Snippet): Promise<RunningServer> {
  const source = readFileSync(join(ROOT, snippet.file), 'utf8');
  assert.equal(source.split('port: 8080').length, 2, `${snippet.file} listens on port 8080, once`);
  const path = join(RUN_DIR, snippet.file.replace('examples/', ''));
  writeFileSync(path, source.replace('port: 8080', 'port: 0'));
  const [command, args] = snippet.command(path);
  return spawnBroker(command, args, { prefix: '/broker', timeoutMs: 60_000 });
}

/**
 * Sends an upgrade request for `path` on a fresh TCP connection and resets the connection (RST,
 * no FIN) at one of a few moments: at once, on the next turn, or once the answer has started.
 */
function upgradeThenReset(origin: string, path: string, moment: number): Promise<void> {
  const url = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let done = false;
    const reset = () => {
      if (done) return;
      done = true;
      socket.resetAndDestroy();
      resolve();
    };
    socket.on('error', reset);
    socket.on('close', reset);
    socket.once('connect', () => {
      socket.write(upgradeRequest(origin, path));
      if (moment === 0) reset();
      else if (moment === 1) setImmediate(reset);
      else socket.once('data', reset);
    });
  });
}

/** 1,000 upgrades, each reset: refused by the broker (bad topic), refused by the host (no WebSocket route), and accepted. */
async function thousandResets(server: RunningServer): Promise<void> {
  const paths = ['/broker/sub/a//b', '/', '/broker/sub/accepted', '/broker/pub/a/%2e%2e/b', '/no/such/route'];
  const origin = server.httpUrl.slice(0, -'/broker'.length);
  const wave = 25;
  for (let start = 0; start < 1000; start += wave) {
    await Promise.all(
      Array.from({ length: wave }, (_, k) => {
        const i = start + k;
        return upgradeThenReset(origin, paths[i % paths.length]!, i % 3);
      }),
    );
  }
}

describe('the README mounting snippets are the examples, at most five lines beyond your app', () => {
  for (const snippet of SNIPPETS) {
    it(`${snippet.runtime}: ${snippet.file} is the README's snippet`, () => {
      const source = readFileSync(join(ROOT, snippet.file), 'utf8');
      assert.equal(readmeSnippet(snippet.file), source);
      assert.match(source, new RegExp(`from 'broker-hono/${snippet.runtime}'`));
      // The broker's lines: the import, the mount, what it hands the server, the shutdown.
      const brokerLines = source.split('\n').filter((line) => /broker/i.test(line));
      assert.ok(brokerLines.length <= 5, `${brokerLines.length} lines about the broker:\n${brokerLines.join('\n')}`);
    });
  }
});

describe('the README mounting snippets, run: 1,000 reset upgrades, then a subscriber; SIGTERM gives 1001', () => {
  for (const snippet of SNIPPETS) {
    it(`${snippet.runtime}: the service survives and serves; SIGTERM closes with 1001 and exits 0 within 5 s`, async () => {
      const server = await startSnippet(snippet);
      try {
        const origin = server.httpUrl.slice(0, -'/broker'.length);
        assert.equal(await (await fetch(`${origin}/`)).text(), 'my service');
        await thousandResets(server);
        assertAlive(server);
        // Every accepted-then-reset socket has been let go.
        await waitForStats(server, (s) => s.connections === 0, 15_000);

        const subscriber = await open(`${server.wsUrl}/sub/news`);
        const stream = await openSse(`${server.httpUrl}/sub/news`);
        await waitForStats(server, (s) => s.subscribers === 2, 10_000);
        assert.equal((await fetch(`${server.httpUrl}/pub/news/today`, { method: 'POST', body: 'still here' })).status, 200);
        assert.deepEqual(await subscriber.waitFor(1, 10_000), [{ data: 'still here', binary: false }]);
        assert.equal((await stream.waitForEvents(1, 10_000))[0]!.data, 'still here');
        // A refused upgrade keeps the broker's JSON body, mounted too.
        const refused = await refusedUpgrade(`${server.wsUrl}/sub/a//b`);
        assert.equal(refused.status, 400);
        assert.match((JSON.parse(refused.body) as { error: string }).error, /empty segment/);

        const started = Date.now();
        const exited = server.stop('SIGTERM');
        assert.equal((await subscriber.closed).code, 1001);
        await stream.waitForEnd(5000);
        assert.equal(await exited, 0);
        assert.ok(Date.now() - started < 5000, `exited after ${Date.now() - started} ms`);
        assert.doesNotMatch(server.output(), /Error|ECONNRESET|legacy/, server.output());
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }
});

describe("the host's own WebSocket routes work beside the broker's, on the same server", () => {
  for (const [runtime, launch] of [['node', nodeMounted], ['deno', denoMounted], ['bun', bunMounted]] as const) {
    it(`${runtime}: an echo route of the host app, a broker subscriber, and a host route that publishes`, async () => {
      const server = await launch();
      try {
        const origin = server.wsUrl.slice(0, -'/broker'.length);
        const echo = await open(`${origin}/echo`);
        const subscriber = await open(`${server.wsUrl}/sub/side`);
        await echo.socket.send('ping');
        assert.deepEqual(await echo.waitFor(1, 10_000), [{ data: 'echo ping', binary: false }]);
        const announcements = await open(`${server.wsUrl}/sub/announcements`);
        await waitForStats(server, (s) => s.subscribers === 2, 10_000);
        assert.equal((await fetch(`${server.httpUrl}/pub/side`, { method: 'POST', body: 'by side' })).status, 200);
        assert.deepEqual(await subscriber.waitFor(1, 10_000), [{ data: 'by side', binary: false }]);
        // A route of the host app publishes through the broker.
        assert.deepEqual(await (await fetch(`${origin.replace('ws:', 'http:')}/announce`, { method: 'POST', body: 'hi' })).json(), { delivered: 1 });
        assert.deepEqual(await announcements.waitFor(1, 10_000), [{ data: 'hi', binary: false }]);
        await announcements.close();
        await echo.close();
        await subscriber.close();
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }
});

describe("Bun: an SSE stream outlives Bun's idle timeout, which still cuts other quiet responses", () => {
  // The host runs Bun.serve with its default idle timeout (10 s): a response of the host's own
  // that sends nothing is cut by it, and the broker's SSE stream, lifted per request, is still
  // open and delivering past 30 s, three times that (issue 11's "done when").
  it("Bun's default idle timeout: the host's quiet response is cut; the SSE stream lives past 30 s and still delivers", { timeout: 60_000 }, async () => {
    const server = await spawnBroker(BUN, ['run', 'tests/fixtures/bun-mount.ts', '-l', 'http://127.0.0.1:0'], { prefix: '/broker', timeoutMs: 60_000 });
    try {
      const origin = server.httpUrl.slice(0, -'/broker'.length);
      const streamOpened = Date.now();
      const stream = await openSse(`${server.httpUrl}/sub/slow`);
      const quietStarted = Date.now();
      // (Bun sends the head of a response with its first byte: the request itself fails.)
      await assert.rejects(fetch(`${origin}/quiet`).then((response) => response.text()), /fetch failed|terminated/, 'the host cuts its own quiet response at its idle timeout');
      const quietLasted = Date.now() - quietStarted;
      assert.ok(quietLasted >= 9_000 && quietLasted < 20_000, `the quiet response was cut after ${quietLasted} ms (Bun's default is 10 s)`);
      await new Promise((resolve) => setTimeout(resolve, 31_000 - (Date.now() - streamOpened)));
      assert.equal(stream.isEnded, false, 'the SSE stream was cut');
      assert.equal((await fetch(`${server.httpUrl}/pub/slow`, { method: 'POST', body: 'after 31 s' })).status, 200);
      assert.equal((await stream.waitForEvents(1, 5000))[0]!.data, 'after 31 s');
      stream.close();
    } finally {
      await server.stop('SIGKILL');
    }
  });
});

describe('Deno: an SSE client that leaves prints no warning', () => {
  const withoutQuiet = (args: string[]) => args.filter((arg) => arg !== '-q');
  for (const [name, script] of [['standalone (mod.ts)', 'mod.ts'], ['mounted (broker-hono/deno)', 'tests/fixtures/deno-mount.ts']] as const) {
    it(`${name}: the subscriber is gone at once, and the log has no "legacy abort" warning`, async () => {
      // Not -q: Deno's warnings must be visible to be absent.
      const server = await spawnBroker(DENO, withoutQuiet(['run', '-q', '-P', script, '-l', 'http://127.0.0.1:0']), {
        prefix: script === 'mod.ts' ? '' : '/broker',
        timeoutMs: 60_000,
      });
      try {
        for (let i = 0; i < 3; i++) {
          const stream = await openSse(`${server.httpUrl}/sub/leaving`);
          await waitForStats(server, (s) => s.subscribers === 1, 10_000);
          stream.close();
          await waitForStats(server, (s) => s.subscribers === 0 && s.connections === 0, 10_000);
        }
        assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
        assert.doesNotMatch(server.output(), /legacy|abort/i, server.output());
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }
});
