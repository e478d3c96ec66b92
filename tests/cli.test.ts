/**
 * The real CLI (`bin/broker-hono.js`, built from src/) as a child process: help and version,
 * usage errors (one line, exit 2), config file and environment, several listen addresses, a port
 * in use (one line, exit 1), and shutdown on SIGINT/SIGTERM (1001 to every socket, exit 0 in 5 s).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, listenOn, runCli, spawnBroker, type RunningServer } from './helpers/server.ts';
import { TestClient, open } from './helpers/ws-client.ts';
import { waitForOutput } from './helpers/checks.ts';
import { expectDeafClientCannotHoldShutdown, expectGracefulShutdown } from './helpers/shutdown.ts';

const dir = mkdtempSync(join(tmpdir(), 'broker-hono-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Asserts a usage error: exit 2, nothing on stdout, exactly one line on stderr matching `pattern`. */
async function expectUsageError(args: string[], pattern: RegExp, env: Record<string, string> = {}): Promise<void> {
  const result = await runCli(args, env);
  assert.equal(result.code, 2, `${args.join(' ')}: exit ${result.code}, stderr ${result.stderr}`);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /^[^\n]+\n$/, `exactly one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, pattern);
}

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('CLI: help, version and usage errors', () => {
  it('-h and --help print usage and exit 0', async () => {
    for (const flag of ['-h', '--help']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stderr, '');
      assert.match(result.stdout, /Usage: broker-hono \[OPTIONS\]/);
      assert.match(result.stdout, /-l, --listen/);
      assert.match(result.stdout, /-c, --clients/);
      assert.match(result.stdout, /--config FILE/);
    }
  });

  it('-V and --version print the package version and exit 0', async () => {
    for (const flag of ['-V', '--version']) {
      const result = await runCli([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `broker-hono ${version}\n`);
    }
  });

  it('an unknown flag: exit 2 and one line naming it', async () => {
    await expectUsageError(['--bogus'], /--bogus/);
    await expectUsageError(['-z'], /-z/);
    await expectUsageError(['-l', 'http://127.0.0.1:0', '--frobnicate=3'], /--frobnicate/);
    await expectUsageError(['serve'], /"serve"/);
  });

  it('bad values: exit 2 and one line naming the flag', async () => {
    await expectUsageError(['-c', 'abc'], /-c\/--clients.*"abc"/);
    await expectUsageError(['-c', '0'], /-c\/--clients/);
    await expectUsageError(['-m', 'staging'], /-m\/--mode/);
    await expectUsageError(['-l', 'nonsense'], /-l\/--listen.*HOST:PORT/);
    await expectUsageError(['-i', 'never'], /-i\/--inactivity-timeout/);
    await expectUsageError(['--max-message-size', '-1'], /--max-message-size/);
    await expectUsageError(['--allow-origin', 'not a host'], /allowOrigin.*not a host/);
    await expectUsageError(['-c'], /-c needs a value/);
  });

  it('a missing, unreadable or invalid --config file: exit 2 and one line naming the file', async () => {
    const missing = join(dir, 'missing.json');
    await expectUsageError(['--config', missing], new RegExp(`cannot read config file .*missing\\.json: ENOENT`));
    await expectUsageError(['--config', dir], /cannot read config file .*: EISDIR/);
    await expectUsageError(['--config', configFile('broken.json', '{"mode": ')], /config file .*broken\.json is not valid JSON/);
    await expectUsageError(['--config', configFile('array.json', '[]')], /config file .*array\.json must hold a JSON object/);
    await expectUsageError(['--config', configFile('bad-value.json', '{"maxConnections": -1}')], /config file .*bad-value\.json: maxConnections/);
    await expectUsageError(['--config', configFile('unknown.json', '{"clients": 5}')], /config file .*unknown\.json: unknown option "clients"/);
  });

  it('bad environment values: exit 2 and one line', async () => {
    await expectUsageError([], /^broker-hono: BROKER_MODE \(mode\): /, { BROKER_MODE: 'staging' });
    await expectUsageError([], /^broker-hono: BROKER_LISTEN \(listen\): /, { BROKER_LISTEN: 'localhost:3000' });
  });
});

describe('CLI: configuration reaches the server', () => {
  const running: RunningServer[] = [];
  after(async () => {
    for (const server of running) await server.stop();
  });
  const start = async (args: string[], env: Record<string, string> = {}) => {
    const server = await spawnBroker(process.execPath, [CLI, ...args], { env });
    running.push(server);
    return server;
  };

  it('config file values are applied (listen, mode, clients)', async () => {
    const path = configFile('good.json', JSON.stringify({ listen: ['http://127.0.0.1:0'], mode: 'production', maxConnections: 1 }));
    const server = await start(['--config', path]);
    await waitForOutput(server, (text) => /in production mode/.test(text));
    assert.equal((await fetch(`${server.httpUrl}/`)).status, 404);
    const first = await open(`${server.wsUrl}/sub/config`);
    const second = new TestClient(`${server.wsUrl}/sub/config`);
    await assert.rejects(second.opened, /503/);
    await first.close();
    assert.equal(await server.stop(), 0);
  });

  it('flags override the config file', async () => {
    const path = configFile('override.json', JSON.stringify({ listen: ['http://127.0.0.1:1'], mode: 'production' }));
    const server = await start(['--config', path, '-l', 'http://127.0.0.1:0', '-m', 'development']);
    assert.equal((await fetch(`${server.httpUrl}/`)).status, 200);
    assert.equal(await server.stop(), 0);
  });

  it('BROKER_LISTEN and BROKER_MODE are read from the environment; flags win over them', async () => {
    const server = await start([], { BROKER_LISTEN: 'http://127.0.0.1:0', BROKER_MODE: 'production' });
    assert.match(server.output(), /Listening at http:\/\/127\.0\.0\.1:[1-9]\d*\n/);
    assert.equal((await fetch(`${server.httpUrl}/`)).status, 404);
    assert.equal(await server.stop(), 0);
    const flagged = await start(['-m', 'development'], { BROKER_LISTEN: 'http://127.0.0.1:0', BROKER_MODE: 'production' });
    assert.equal((await fetch(`${flagged.httpUrl}/`)).status, 200);
    assert.equal(await flagged.stop(), 0);
  });

  it('repeated -l listens on each address, prints each real port, and both reach one broker', async () => {
    const server = await start(['-l', 'http://127.0.0.1:0', '-l', 'http://127.0.0.1:0']);
    await waitForOutput(server, (text) => (text.match(/Listening at/g) ?? []).length >= 2);
    const ports = [...server.output().matchAll(/Listening at http:\/\/127\.0\.0\.1:(\d+)\n/g)].map((m) => Number(m[1]));
    assert.equal(ports.length, 2, server.output());
    assert.ok(ports.every((port) => port > 0), `real ports, not 0: ${ports.join(', ')}`);
    assert.notEqual(ports[0], ports[1]);
    for (const port of ports) assert.equal(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(), 'ok');
    const subscriber = await open(`ws://127.0.0.1:${ports[0]}/sub/shared`);
    const response = await fetch(`http://127.0.0.1:${ports[1]}/pub/shared`, { method: 'POST', body: 'across listeners' });
    assert.equal(response.status, 200);
    assert.deepEqual((await subscriber.waitFor(1, 10_000))[0], { data: 'across listeners', binary: false });
    await subscriber.close();
    assert.equal(await server.stop(), 0);
  });

  it('every interface (`*`): the banner also prints a URL a person can open, and it answers', async () => {
    const server = await start(['-l', 'http://*:0']);
    const match = /^Listening at http:\/\/\*:(\d+) \(open http:\/\/localhost:(\d+)\)$/m.exec(server.output());
    assert.ok(match, server.output());
    assert.equal(match[2], match[1]);
    assert.equal(await (await fetch(`http://localhost:${match[1]}/healthz`)).text(), 'ok');
    // A named address is printed as it is, with nothing added.
    const named = await start(['-l', 'http://127.0.0.1:0']);
    assert.match(named.output(), /^Listening at http:\/\/127\.0\.0\.1:\d+$/m);
    assert.equal(await server.stop(), 0);
    assert.equal(await named.stop(), 0);
  });

  it('a port in use: exit 1 and one line saying so', async () => {
    const blocker = await listenOn();
    try {
      const port = (blocker.address() as AddressInfo).port;
      const result = await runCli(['-l', `http://127.0.0.1:${port}`]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^[^\n]+\n$/, `one line: ${JSON.stringify(result.stderr)}`);
      assert.match(result.stderr, new RegExp(`http://127\\.0\\.0\\.1:${port}.*address already in use`));
      assert.doesNotMatch(result.stdout, /Listening at/);
    } finally {
      blocker.close();
    }
  });

  it('when the second of two addresses is in use, nothing keeps listening and the exit is 1', async () => {
    const blocker = await listenOn();
    try {
      const port = (blocker.address() as AddressInfo).port;
      const result = await runCli(['-l', 'http://127.0.0.1:0', '-l', `http://127.0.0.1:${port}`]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^[^\n]*address already in use\n$/);
    } finally {
      blocker.close();
    }
  });
});

describe('CLI: shutdown', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: every socket gets 1001 and the process exits 0 within 5 s`, async () => {
      const server = await spawnBroker(process.execPath, [CLI, '-l', 'http://127.0.0.1:0']);
      try {
        await expectGracefulShutdown(server, signal);
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }

  it('a client that never answers the close handshake does not hold shutdown past 5 s', async () => {
    const server = await spawnBroker(process.execPath, [CLI, '-l', 'http://127.0.0.1:0']);
    try {
      await expectDeafClientCannotHoldShutdown(server);
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
