/**
 * signal-relay.ts: the Deno CLI hears each signal by two paths (its own listener and a worker's
 * count read from a timer); the handler must get each signal exactly once, in order.
 * (tests/deno-shutdown-under-load.test.ts shows why the second path exists.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from './helpers/server.ts';
import { DENO } from './helpers/runtimes.ts';

test('deno signal relay: each signal reaches the handler once', { timeout: 60_000 }, async () => {
  const child = spawn(DENO, ['run', '-q', 'tests/fixtures/deno-signal-relay.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const until = async (lines: number) => {
    const deadline = Date.now() + 30_000;
    while (out.split('\n').filter(Boolean).length < lines && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
  try {
    await until(1);
    child.kill('SIGINT');
    await until(2);
    await settle(); // a second delivery of the same signal would arrive within the relay's 20 ms
    child.kill('SIGINT');
    await until(3);
    await settle();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(out.split('\n').filter(Boolean), ['ready', 'SIGINT', 'SIGINT', 'SIGTERM']);
  } finally {
    child.kill('SIGKILL');
  }
});
