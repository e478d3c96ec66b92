/**
 * Signals reach the broker however it was started. A supervisor (Docker, systemd with
 * KillMode=process, pm2, a test harness) signals only the process it started: `npm start` (npm,
 * which runs the broker under `sh -c`), `node bin/broker-hono.js`, `deno task start` (Deno's task
 * runner), `bun run mod.ts`. SIGTERM or SIGINT to that one process gives every socket 1001 within
 * 5 s and leaves no process of the tree behind and nothing listening. (`npx broker-hono` is
 * tested from a packed, installed package in tests/package.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLI } from './helpers/server.ts';
import { BUN, DENO } from './helpers/runtimes.ts';
import { expectSignalClosesTree } from './helpers/process-tree.ts';

const FREE_PORT = ['-l', 'http://127.0.0.1:0'];

const LAUNCHES: Array<{ name: string; command: string; args: string[] }> = [
  { name: 'npm start', command: 'npm', args: ['start', '--', ...FREE_PORT] },
  { name: 'node bin/broker-hono.js', command: process.execPath, args: [CLI, ...FREE_PORT] },
  { name: 'deno task start', command: DENO, args: ['task', 'start', ...FREE_PORT] },
  { name: 'bun run mod.ts', command: BUN, args: ['run', 'mod.ts', ...FREE_PORT] },
];

// `npm exec -c` runs a command as npx runs a package's bin: under `sh -c`, without `exec`.
const NPX_LIKE = ['exec', '-c', `node ${CLI} ${FREE_PORT.join(' ')}`];

describe('SIGTERM or SIGINT to the process a supervisor started: 1001 to every socket, no process left', () => {
  for (const launch of LAUNCHES) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`${launch.name}: ${signal}`, async () => {
        const result = await expectSignalClosesTree(launch.command, launch.args, signal);
        assert.ok(result.elapsedMs < 5000, `${launch.name}: closed after ${result.elapsedMs} ms`);
      });
    }
  }

  it('npm exec (as npx runs a bin: sh -c, no exec): SIGTERM ends the shell, and the orphaned broker closes', async () => {
    const result = await expectSignalClosesTree('npm', NPX_LIKE, 'SIGTERM');
    assert.match(result.output, /parent process exited: closing every connection/);
  });

  it('npm exec: a SIGINT the shell swallows, then SIGKILL to npm (a supervisor giving up): the broker closes', async () => {
    const result = await expectSignalClosesTree('npm', NPX_LIKE, ['SIGINT', 'SIGKILL']);
    assert.match(result.output, /parent process exited: closing every connection/);
  });
});
