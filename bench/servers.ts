/**
 * The servers a benchmark run compares: our broker on each runtime and the baselines beside it
 * (`bench/baselines/`). Each is started as its own process and prints `Listening at
 * http://HOST:PORT` like the broker's CLI, so they are driven the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'node_modules', '.bin');

export interface ServerSpec {
  /** Short id for `--servers` and the JSON output. */
  id: string;
  /** What the table calls it. */
  label: string;
  runtime: 'node' | 'bun' | 'deno';
  /** The id of the server this one's ratio is computed against (its runtime's naive baseline). */
  baseline?: string;
  command: string;
  args: string[];
  /** Why it cannot run here (missing entrypoint), or undefined. */
  unavailable?: string;
}

/** Options every broker run gets: room for the idle scenario's connections, nothing else changed. */
const BROKER_ARGS = ['-m', 'production', '-c', '30000'];

export function serverSpecs(): ServerSpec[] {
  const tsx = ['--import', 'tsx'];
  const specs: ServerSpec[] = [
    {
      id: 'broker-node',
      label: 'broker-hono on Node',
      runtime: 'node',
      baseline: 'naive-ws',
      command: process.execPath,
      args: [join(ROOT, 'bin', 'broker-hono.js'), '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: existsSync(join(ROOT, 'dist', 'src', 'adapters', 'node', 'cli.js')) ? undefined : 'dist/ not built (npm run build)',
    },
    { id: 'naive-ws', label: 'naive `ws` server', runtime: 'node', command: process.execPath, args: [...tsx, join(ROOT, 'bench', 'baselines', 'naive-ws.ts')] },
    {
      id: 'corked-ws',
      label: '`ws`, framed once + corked (Node ceiling)',
      runtime: 'node',
      baseline: 'naive-ws',
      command: process.execPath,
      args: [...tsx, join(ROOT, 'bench', 'baselines', 'corked-ws.ts')],
    },
  ];
  const modTs = join(ROOT, 'mod.ts');
  const hasRuntimeCli = (runtime: string) => existsSync(join(ROOT, 'src', 'adapters', runtime, 'cli.ts'));
  specs.push(
    {
      id: 'broker-bun',
      label: 'broker-hono on Bun',
      runtime: 'bun',
      baseline: 'naive-bun',
      command: join(BIN, 'bun'),
      args: ['run', modTs, '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: hasRuntimeCli('bun') ? undefined : 'no Bun adapter in this checkout',
    },
    { id: 'naive-bun', label: 'naive Bun native pub/sub', runtime: 'bun', command: join(BIN, 'bun'), args: ['run', join(ROOT, 'bench', 'baselines', 'naive-bun.ts')] },
  );
  specs.push(
    {
      id: 'broker-deno',
      label: 'broker-hono on Deno',
      runtime: 'deno',
      baseline: 'naive-deno',
      command: join(BIN, 'deno'),
      args: ['run', '-q', '-P', modTs, '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: hasRuntimeCli('deno') ? undefined : 'no Deno adapter in this checkout',
    },
    { id: 'naive-deno', label: 'naive Deno server', runtime: 'deno', command: join(BIN, 'deno'), args: ['run', '-A', join(ROOT, 'bench', 'baselines', 'naive-deno.ts')] },
  );
  return specs;
}

/**
 * The broker of another checkout (`--compare DIR`, e.g. a worktree of the last release), on Node,
 * Bun and Deno, beside this one in the same run: a change's before and after measured alternately on
 * the same machine. Its `dist/` must be built.
 */
export function compareSpecs(otherRoot: string): ServerSpec[] {
  return [
    {
      id: 'broker-node-before',
      label: 'broker-hono on Node, compared checkout',
      runtime: 'node',
      baseline: 'naive-ws',
      command: process.execPath,
      args: [join(otherRoot, 'bin', 'broker-hono.js'), '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: existsSync(join(otherRoot, 'dist', 'src', 'adapters', 'node', 'cli.js')) ? undefined : `${otherRoot}: dist/ not built`,
    },
    {
      id: 'broker-bun-before',
      label: 'broker-hono on Bun, compared checkout',
      runtime: 'bun',
      baseline: 'naive-bun',
      command: join(BIN, 'bun'),
      args: ['run', join(otherRoot, 'mod.ts'), '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: existsSync(join(otherRoot, 'src', 'adapters', 'bun', 'cli.ts')) ? undefined : `${otherRoot}: no Bun adapter`,
    },
    {
      id: 'broker-deno-before',
      label: 'broker-hono on Deno, compared checkout',
      runtime: 'deno',
      baseline: 'naive-deno',
      command: join(BIN, 'deno'),
      // That checkout's own permission set (`-P` reads the deno.json it is given).
      args: ['run', '-q', '-P', '--config', join(otherRoot, 'deno.json'), join(otherRoot, 'mod.ts'), '-l', 'http://127.0.0.1:0', ...BROKER_ARGS],
      unavailable: existsSync(join(otherRoot, 'src', 'adapters', 'deno', 'cli.ts')) ? undefined : `${otherRoot}: no Deno adapter`,
    },
  ];
}

export interface RunningServer {
  readonly spec: ServerSpec;
  readonly child: ChildProcess;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts one server and waits for its `Listening at` line. */
export function startServer(spec: ServerSpec, timeoutMs = 30_000): Promise<RunningServer> {
  const child = spawn(spec.command, spec.args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${spec.id} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      if (output.length < 20_000) output += chunk.toString();
      const match = /Listening at http:\/\/([^\s:]+|\[[^\]]+\]):(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      // Keep draining so a chatty server never blocks on a full pipe.
      child.stdout!.resume();
      child.stderr!.resume();
      const host = match[1] === '*' || match[1] === '0.0.0.0' ? '127.0.0.1' : match[1]!;
      resolve({
        spec,
        child,
        host,
        port: Number(match[2]),
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
          await exited;
          clearTimeout(kill);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.id} exited with ${code} before listening:\n${output}`));
    });
  });
}

/** Resident memory of a process and all its descendants, in bytes (Linux /proc). */
export function treeRss(pid: number): number {
  let total = 0;
  for (const id of [pid, ...descendants(pid)]) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, 'utf8'));
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // Gone in the meantime.
    }
  }
  return total;
}

/** CPU seconds (user + system) used so far by a process and its descendants. */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const id of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone in the meantime.
    }
  }
  return ticks / 100; // USER_HZ is 100 on Linux
}

function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) found.push(child, ...descendants(child));
  }
  return found;
}
