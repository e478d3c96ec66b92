/**
 * The packages as a user gets them. npm: the tarball `npm pack` makes (its `prepack` builds),
 * installed with `--omit=dev` into an empty folder together with the oldest Hono the peer range
 * allows (one install, shared by every test here): `npx broker-hono` starts, serves and closes
 * on SIGTERM; the README's mounting snippets run against it on Node, Deno (`npm:` resolution)
 * and Bun. A clone installed with `npm ci --omit=dev` says in one line what is missing. JSR:
 * `deno publish --dry-run` passes (no slow types), exporting what package.json exports.
 *
 * Needs the npm registry (as `npm ci` does); nothing else from the network.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runToEnd, spawnBroker, waitForStats, type RunningServer } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { expectSignalClosesTree } from './helpers/process-tree.ts';
import { open, refusedUpgrade } from './helpers/ws-client.ts';
import { openSse } from './helpers/sse-client.ts';

/** The oldest Hono the peer range takes: 4.9.0 is the first whose `hono/bun` exports `upgradeWebSocket` and `websocket`. */
const OLDEST_HONO = '4.9.0';
const INSTALL_TIMEOUT_MS = 300_000;

const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
  exports: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
  dependencies: Record<string, string>;
  keywords?: string[];
  license?: string;
  files: string[];
};

const dir = mkdtempSync(join(tmpdir(), 'broker-hono-package-'));
const app = join(dir, 'app');
let tarball = '';
let installOutput = '';
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `command` to the end; fails the test with its output unless it exits 0. */
function run(command: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

before(
  () => {
    const packed = run('npm', ['pack', '--pack-destination', dir], ROOT).stdout.trim().split('\n').pop()!;
    tarball = join(dir, packed);
    mkdirSync(app);
    const installed = run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball, `hono@${OLDEST_HONO}`], app);
    installOutput = installed.stdout + installed.stderr;
  },
  { timeout: INSTALL_TIMEOUT_MS },
);

/** A README snippet (examples/) written into the installed app, port 8080 made 0. */
function snippetInApp(example: string, name: string): string {
  const source = readFileSync(join(ROOT, 'examples', example), 'utf8');
  assert.equal(source.split('port: 8080').length, 2);
  const path = join(app, name);
  writeFileSync(path, source.replace('port: 8080', 'port: 0'));
  return path;
}

/** What every mounted snippet must do: its own route, the broker under /broker, 1001 on SIGTERM. */
async function expectMountedService(server: RunningServer): Promise<void> {
  try {
    const origin = server.httpUrl.slice(0, -'/broker'.length);
    assert.equal(await (await fetch(`${origin}/`)).text(), 'my service');
    const subscriber = await open(`${server.wsUrl}/sub/pkg`);
    const stream = await openSse(`${server.httpUrl}/sub/pkg`);
    await waitForStats(server, (s) => s.subscribers === 2, 10_000);
    assert.equal((await fetch(`${server.httpUrl}/pub/pkg/x`, { method: 'POST', body: 'from the package' })).status, 200);
    assert.deepEqual(await subscriber.waitFor(1, 10_000), [{ data: 'from the package', binary: false }]);
    assert.equal((await stream.waitForEvents(1, 10_000))[0]!.data, 'from the package');
    const refused = await refusedUpgrade(`${server.wsUrl}/sub/a//b`);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /empty segment/);
    const exited = server.stop('SIGTERM');
    assert.equal((await subscriber.closed).code, 1001);
    assert.equal(await exited, 0);
  } finally {
    await server.stop('SIGKILL');
  }
}

describe('npm: the packed tarball', () => {
  it('holds the built entry points, the sources, README, PROTOCOL.md and LICENSE; nothing of the repository besides', () => {
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((line) => line.replace(/^package\//, ''));
    for (const file of ['LICENSE', 'README.md', 'PROTOCOL.md', 'bin/broker-hono.js', 'mod.ts', 'dist/mod.js', 'dist/mod.d.ts', 'dist/src/topic.js', 'dist/src/adapters/node/mount.js', 'dist/src/adapters/node/mount.d.ts', 'dist/src/adapters/deno/mount.js', 'dist/src/adapters/deno/mount.d.ts', 'dist/src/adapters/bun/mount.js', 'dist/src/adapters/bun/mount.d.ts', 'src/adapters/deno/mount.ts']) {
      assert.ok(listing.includes(file), `${file} is in the tarball`);
    }
    assert.deepEqual(listing.filter((file) => /^(tests|bench|examples|scripts|\.ci)\//.test(file)), []);
  });

  it('package.json: hono a peer from the oldest version tested; no install script; license and keywords; every entry point exported', () => {
    assert.deepEqual(PACKAGE.peerDependencies, { hono: `^${OLDEST_HONO}` });
    assert.equal(PACKAGE.dependencies.hono, undefined, 'hono is not a regular dependency (a host would get two copies)');
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(PACKAGE.scripts[script], undefined, `no ${script} script`);
    assert.equal(PACKAGE.scripts.prepack, 'npm run build');
    assert.equal(PACKAGE.license, 'MIT');
    assert.ok(PACKAGE.keywords?.includes('websocket') && PACKAGE.keywords.includes('hono'));
    assert.deepEqual(Object.keys(PACKAGE.exports).filter((key) => key !== './package.json').sort(), ['.', './bun', './client', './deno', './node', './topic']);
  });

  it('installs with --omit=dev into an empty folder without a warning about scripts or peers', () => {
    assert.doesNotMatch(installOutput, /install scripts|prepare|ERESOLVE|peer dep/i, installOutput);
    assert.equal(JSON.parse(readFileSync(join(app, 'node_modules', 'hono', 'package.json'), 'utf8')).version, OLDEST_HONO);
    assert.deepEqual(readdirSync(join(app, 'node_modules', '.bin')), ['broker-hono']);
  });
});

describe('npm: installed, as a user runs it', () => {
  it('`npx broker-hono` starts and serves; SIGTERM to npx closes every socket with 1001 and leaves nothing running or listening', async () => {
    const result = await expectSignalClosesTree('npx', ['broker-hono', '-l', 'http://127.0.0.1:0'], 'SIGTERM', { cwd: app });
    assert.ok(result.elapsedMs < 5000);
  });

  it(`the README's Node snippet (broker-hono/node) on Hono ${OLDEST_HONO}`, async () => {
    // The Node snippet is plain JavaScript: run as a user without a TypeScript loader would.
    const path = snippetInApp('node-mount.ts', 'node-mount.mjs');
    await expectMountedService(await spawnBroker(process.execPath, [path], { cwd: app, prefix: '/broker', timeoutMs: 60_000 }));
  });

  it(`the README's Deno snippet (broker-hono/deno through npm) on Hono ${OLDEST_HONO}`, async () => {
    const path = snippetInApp('deno-mount.ts', 'deno-mount.ts');
    await expectMountedService(await spawnBroker(DENO, ['run', '--allow-net', path], { cwd: app, prefix: '/broker', timeoutMs: 60_000 }));
  });

  it(`the README's Bun snippet (broker-hono/bun) on Hono ${OLDEST_HONO}`, async () => {
    const path = snippetInApp('bun-mount.ts', 'bun-mount.ts');
    await expectMountedService(await spawnBroker(BUN, ['run', path], { cwd: app, prefix: '/broker', timeoutMs: 60_000 }));
  });
});

describe('npm: a clone installed without dev dependencies', () => {
  it('`npm ci --omit=dev` works; `npx broker-hono` then says in one line what is missing (exit 1)', { timeout: INSTALL_TIMEOUT_MS }, async () => {
    const clone = join(dir, 'clone');
    mkdirSync(clone);
    for (const entry of ['package.json', 'package-lock.json', 'bin', 'src', 'mod.ts', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
    }
    run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], clone);
    assert.equal(existsSync(join(clone, 'dist')), false);
    for (const [command, args] of [[process.execPath, ['bin/broker-hono.js']], ['npx', ['broker-hono']]] as const) {
      const result = spawnSync(command, [...args, '-l', 'http://127.0.0.1:0'], { cwd: clone, encoding: 'utf8', timeout: 60_000 });
      assert.equal(result.status, 1, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /^broker-hono: dist\/ is not built and tsx is not installed: [^\n]+\n$/);
    }
  });
});

describe('JSR: deno.json', () => {
  it('`deno publish --dry-run` passes: no slow types, no error', { timeout: 120_000 }, async () => {
    const result = await runToEnd(DENO, ['publish', '--dry-run', '--allow-dirty'], {}, 120_000);
    const output = `${result.stdout}${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    assert.equal(result.code, 0, output);
    assert.match(output, /^Success Dry run complete$/m);
    // Each problem is a line `error[kind]: ...` (slow types are `error[missing-explicit-type]` and the like).
    assert.doesNotMatch(output, /^error/m, output);
    // The package holds the library, its license and docs, and none of the repository's tests or tools.
    for (const file of ['mod.ts', 'LICENSE', 'README.md', 'src/adapters/deno/mount.ts']) assert.match(output, new RegExp(`file://[^\\s]*/${file.replace('.', '\\.')} `));
    assert.doesNotMatch(output, /file:\/\/\S*\/(tests|bench|examples|scripts|dist)\//);
  });

  it('has the name, the version of package.json, the license, and the entry points package.json exports', () => {
    const deno = JSON.parse(readFileSync(join(ROOT, 'deno.json'), 'utf8')) as { name: string; version: string; license: string; exports: Record<string, string> };
    assert.match(deno.name, /^@[a-z0-9-]+\/broker-hono$/);
    assert.equal(deno.version, PACKAGE.version);
    assert.equal(deno.license, 'MIT');
    assert.deepEqual(Object.keys(deno.exports).sort(), ['.', './bun', './client', './deno', './node', './topic']);
    for (const path of Object.values(deno.exports)) assert.ok(existsSync(join(ROOT, path)), path);
  });
});
