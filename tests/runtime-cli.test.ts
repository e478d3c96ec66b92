/**
 * The command line on Deno (`deno run -P mod.ts`) and Bun (`bun run mod.ts`) is the Node CLI's:
 * the same help, the same one-line usage errors and exit codes for the same arguments, port 0
 * printed as the real port, a port in use as one line and exit 1, and SIGINT/SIGTERM closing every
 * socket with 1001 and exiting 0 within 5 s. Plus what only Deno has: a missing permission is one
 * line naming the flag to add (exit 2). And `mod.ts` imported as a library starts nothing.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT, listenOn, runToEnd, spawnBroker, waitForStats, type Finished, type RunningServer } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { open } from './helpers/ws-client.ts';
import { waitForOutput } from './helpers/checks.ts';
import { expectDeafClientCannotHoldShutdown, expectGracefulShutdown } from './helpers/shutdown.ts';
import { CLI_ENVIRONMENT } from '../src/cli/args.ts';
import { promptsUntilListening } from './helpers/terminal.ts';

const dir = mkdtempSync(join(tmpdir(), 'broker-hono-runtime-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Runtime {
  name: string;
  command: string;
  /** Arguments that come before the broker's own flags. */
  prefix: string[];
}

const NODE: Runtime = { name: 'node', command: process.execPath, prefix: [CLI] };
const RUNTIMES: Runtime[] = [
  { name: 'deno', command: DENO, prefix: ['run', '-q', '-P', 'mod.ts'] },
  { name: 'bun', command: BUN, prefix: ['run', 'mod.ts'] },
];

const run = (runtime: Runtime, args: string[], env: Record<string, string> = {}): Promise<Finished> =>
  runToEnd(runtime.command, [...runtime.prefix, ...args], env);

const start = (runtime: Runtime, args: string[]): Promise<RunningServer> =>
  spawnBroker(runtime.command, [...runtime.prefix, ...args], { timeoutMs: 60_000 });

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Argument lists whose outcome (exit code, stdout, stderr) must be the same on every runtime. */
const SAME_EVERYWHERE: Array<{ args: string[]; env?: Record<string, string> }> = [
  { args: ['--help'] },
  { args: ['-V'] },
  { args: ['--bogus'] },
  { args: ['serve'] },
  { args: ['-c', 'abc'] },
  { args: ['-c'] },
  { args: ['-m', 'staging'] },
  { args: ['-l', 'nonsense'] },
  { args: ['-i', 'never'] },
  { args: ['--max-message-size', '-1'] },
  { args: ['--allow-origin', 'not a host'] },
  { args: ['--config', join(dir, 'missing.json')] },
  { args: ['--config', 'CONFIG:{"mode": '] },
  { args: ['--config', 'CONFIG:[]'] },
  { args: ['--config', 'CONFIG:{"maxConnections": -1}'] },
  { args: ['--config', 'CONFIG:{"clients": 5}'] },
  { args: [], env: { BROKER_MODE: 'staging' } },
  { args: [], env: { BROKER_LISTEN: 'localhost:3000' } },
];

/** The JSON parser's own explanation is the engine's (V8 on Node and Deno, JavaScriptCore on Bun). */
function engineWordsOut(result: Finished): Finished {
  return { ...result, stderr: result.stderr.replace(/(is not valid JSON: ).*/, '$1<the engine\'s words>') };
}

describe('Deno and Bun: the same command line as Node', () => {
  let configs = 0;
  const resolveArgs = (args: string[]) => args.map((arg) => (arg.startsWith('CONFIG:') ? file(`config-${configs++}.json`, arg.slice(7)) : arg));

  for (const runtime of RUNTIMES) {
    it(`${runtime.name}: help, version and every usage error exactly as on Node (exit code, stdout, stderr)`, async () => {
      for (const { args, env } of SAME_EVERYWHERE) {
        const resolved = resolveArgs(args);
        const [expected, got] = await Promise.all([run(NODE, resolved, env).then(engineWordsOut), run(runtime, resolved, env).then(engineWordsOut)]);
        const label = `${runtime.name} ${args.join(' ')} ${JSON.stringify(env ?? {})}`;
        assert.deepEqual(got, expected, label);
        if (expected.code === 2) assert.match(got.stderr, /^broker-hono: [^\n]+\n$/, label);
      }
    });

    it(`${runtime.name}: port 0 prints the real port, config file and environment reach the server`, async () => {
      const config = file(`${runtime.name}-production.json`, JSON.stringify({ mode: 'production', maxConnections: 1 }));
      const server = await spawnBroker(runtime.command, [...runtime.prefix, '--config', config], {
        env: { BROKER_LISTEN: 'http://127.0.0.1:0,http://127.0.0.1:0' },
        timeoutMs: 60_000,
      });
      try {
        await waitForOutput(server, (text) => /in production mode/.test(text));
        const ports = [...server.output().matchAll(/^Listening at http:\/\/127\.0\.0\.1:(\d+)$/gm)].map((m) => Number(m[1]));
        assert.equal(ports.length, 2, server.output());
        assert.ok(ports.every((port) => port > 0), server.output());
        assert.equal((await fetch(`http://127.0.0.1:${ports[1]}/`)).status, 404);
        const subscriber = await open(`ws://127.0.0.1:${ports[0]}/sub/shared`);
        const refused = await fetch(`http://127.0.0.1:${ports[1]}/sub/x`, { headers: { accept: 'text/event-stream' } });
        assert.equal(refused.status, 503, 'maxConnections 1 from the config file');
        await refused.body?.cancel();
        const posted = await fetch(`http://127.0.0.1:${ports[1]}/pub/shared`, { method: 'POST', body: 'across listeners' });
        assert.equal(posted.status, 200);
        assert.deepEqual((await subscriber.waitFor(1, 10_000))[0], { data: 'across listeners', binary: false });
        await subscriber.close();
        assert.equal(await server.stop(), 0);
      } finally {
        await server.stop('SIGKILL');
      }
    });

    it(`${runtime.name}: a port in use is one line and exit 1, and nothing keeps listening`, async () => {
      const blocker = await listenOn();
      try {
        const port = (blocker.address() as AddressInfo).port;
        for (const args of [['-l', `http://127.0.0.1:${port}`], ['-l', 'http://127.0.0.1:0', '-l', `http://127.0.0.1:${port}`]]) {
          const result = await run(runtime, args);
          assert.equal(result.code, 1, result.stderr);
          assert.equal(result.stderr, `broker-hono: cannot listen at http://127.0.0.1:${port}: address already in use\n`);
          assert.doesNotMatch(result.stdout, /Listening at/);
        }
      } finally {
        blocker.close();
      }
    });

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${runtime.name}: ${signal} closes every socket with 1001 and exits 0 within 5 s`, async () => {
        const server = await start(runtime, ['-l', 'http://127.0.0.1:0']);
        try {
          await expectGracefulShutdown(server, signal);
        } finally {
          await server.stop('SIGKILL');
        }
      });
    }

    it(`${runtime.name}: a client that never answers the close handshake does not hold shutdown past 5 s`, async () => {
      const server = await start(runtime, ['-l', 'http://127.0.0.1:0']);
      try {
        await expectDeafClientCannotHoldShutdown(server);
      } finally {
        await server.stop('SIGKILL');
      }
    });
  }
});

describe('mod.ts imported as a library starts nothing', () => {
  const script = "import * as broker from './mod.ts'; console.log(typeof broker.createBroker, typeof broker.brokerOptionsFromArgs);";
  it('deno: imports, prints, exits 0', async () => {
    const result = await runToEnd(DENO, ['eval', '--no-config', '--node-modules-dir=manual', script]);
    assert.deepEqual(result, { code: 0, stdout: 'function function\n', stderr: '' });
  });
  it('bun: imports, prints, exits 0', async () => {
    const result = await runToEnd(BUN, ['-e', script]);
    assert.deepEqual(result, { code: 0, stdout: 'function function\n', stderr: '' });
  });
  it('node: the built package imports, prints, exits 0', async () => {
    const result = await runToEnd(process.execPath, ['--input-type=module', '-e', script.replace('./mod.ts', './dist/mod.js')]);
    assert.deepEqual(result, { code: 0, stdout: 'function function\n', stderr: '' });
  });
});

describe('deno: a missing permission is one line naming the flag to add', () => {
  const deno = (flags: string[], args: string[] = ['-l', 'http://127.0.0.1:0']) => runToEnd(DENO, ['run', '--no-prompt', ...flags, 'mod.ts', ...args]);
  const expectPermissionLine = (result: Finished, flag: string, what: RegExp) => {
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^broker-hono: [^\n]+\n$/, `exactly one line: ${JSON.stringify(result.stderr)}`);
    assert.match(result.stderr, what);
    assert.ok(result.stderr.includes(`add ${flag} `), result.stderr);
    assert.match(result.stderr, /deno task start/);
  };

  it('no permissions at all: --allow-net (the environment is optional, read only where granted)', async () => {
    expectPermissionLine(await deno([]), '--allow-net', /net access to "127\.0\.0\.1:0"/);
  });

  it('--help and --version need no permission', async () => {
    for (const flag of ['--help', '-V']) {
      const [expected, got] = await Promise.all([runToEnd(process.execPath, [CLI, flag]), deno([], [flag])]);
      assert.deepEqual(got, expected, flag);
    }
  });

  it('without a permission granted, BROKER_LISTEN and BROKER_MODE are not read (nor asked for)', async () => {
    const server = await spawnBroker(DENO, ['run', '--no-prompt', '--allow-net', 'mod.ts', '-l', 'http://127.0.0.1:0'], { env: { BROKER_MODE: 'production' }, timeoutMs: 60_000 });
    try {
      await waitForOutput(server, (text) => /in development mode/.test(text));
      assert.equal(await server.stop(), 0);
    } finally {
      await server.stop('SIGKILL');
    }
    // Granted, they are: a bad value is refused as on Node.
    const granted = await runToEnd(DENO, ['run', '--no-prompt', '--allow-net', '--allow-env', 'mod.ts'], { BROKER_MODE: 'nonsense' });
    assert.equal(granted.code, 2);
    assert.match(granted.stderr, /^broker-hono: BROKER_MODE \(mode\): /);
  });

  it('`deno run mod.ts` in a terminal asks once, for the network, then listens', async () => {
    const terminal = await promptsUntilListening(`${DENO} run mod.ts -l http://127.0.0.1:0`);
    assert.equal(terminal.prompts.length, 1, terminal.output);
    assert.match(terminal.prompts[0]!, /net access to "127\.0\.0\.1:0"/);
  });

  it('environment but no network: --allow-net', async () => {
    expectPermissionLine(await deno([`--allow-env=${CLI_ENVIRONMENT.join(',')}`]), '--allow-net', /net access to "127\.0\.0\.1:0"/);
  });

  it('a --config file without read permission: --allow-read', async () => {
    const config = file('unreadable-without-permission.json', '{}');
    const result = await deno([`--allow-env=${CLI_ENVIRONMENT.join(',')}`, '--allow-net'], ['--config', config]);
    expectPermissionLine(result, '--allow-read', /read access to ".*unreadable-without-permission\.json"/);
  });

  it('`deno task start` runs the same broker (and passes the arguments on)', async () => {
    const server = await spawnBroker(DENO, ['task', 'start', '-l', 'http://127.0.0.1:0', '-m', 'production'], { timeoutMs: 60_000 });
    try {
      await waitForOutput(server, (text) => /in production mode/.test(text));
      assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
      const subscriber = await open(`${server.wsUrl}/sub/task`);
      await waitForStats(server, (s) => s.subscribers === 1, 10_000);
      const exited = server.stop('SIGTERM');
      assert.equal((await subscriber.closed).code, 1001);
      assert.equal(await exited, 0);
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it("deno.json's permission set allows every environment variable the broker reads", () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'deno.json'), 'utf8')) as { permissions: { default: { env: string[] } } };
    for (const name of CLI_ENVIRONMENT) assert.ok(config.permissions.default.env.includes(name), name);
  });
});
