/**
 * Launchers for the broker on Deno and Bun and for the broker mounted under `/broker` in another
 * Hono app (tests/fixtures/*-mount.ts, through the per-runtime entry points) on Node, Deno and
 * Bun. Each starts a real child process on a free port of 127.0.0.1 with the runtime's binary
 * from node_modules (the `deno` and `bun` npm packages), exactly as the README tells a user to.
 */
import { join } from 'node:path';
import { ROOT, spawnBroker, type Launcher } from './server.ts';

export const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
export const BUN = join(ROOT, 'node_modules', '.bin', 'bun');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

const FREE_PORT = ['-l', 'http://127.0.0.1:0'];
/** Deno and Bun start slower than Node, more so on a loaded machine. */
const START_TIMEOUT_MS = 60_000;

/** `deno run -q -P mod.ts` (deno.json's permission set), as `deno task start` runs it. */
export const denoCli: Launcher = (args = []) =>
  spawnBroker(DENO, ['run', '-q', '-P', 'mod.ts', ...FREE_PORT, ...args], { timeoutMs: START_TIMEOUT_MS });

/** `bun run mod.ts`. */
export const bunCli: Launcher = (args = []) =>
  spawnBroker(BUN, ['run', 'mod.ts', ...FREE_PORT, ...args], { timeoutMs: START_TIMEOUT_MS });

/** tests/fixtures/node-mount.ts: `@hono/node-server` + `broker-hono/node`, broker under `/broker`. */
export const nodeMounted: Launcher = (args = []) =>
  spawnBroker(process.execPath, ['--import', TSX, 'tests/fixtures/node-mount.ts', ...FREE_PORT, ...args], { prefix: '/broker', timeoutMs: START_TIMEOUT_MS });

/** tests/fixtures/deno-mount.ts: `Deno.serve` + `broker-hono/deno`, broker under `/broker`. */
export const denoMounted: Launcher = (args = []) =>
  spawnBroker(DENO, ['run', '-q', '-P', 'tests/fixtures/deno-mount.ts', ...FREE_PORT, ...args], { prefix: '/broker', timeoutMs: START_TIMEOUT_MS });

/** tests/fixtures/bun-mount.ts: `Bun.serve` + `broker-hono/bun`, broker under `/broker`. */
export const bunMounted: Launcher = (args = []) =>
  spawnBroker(BUN, ['run', 'tests/fixtures/bun-mount.ts', ...FREE_PORT, ...args], { prefix: '/broker', timeoutMs: START_TIMEOUT_MS });
