/**
 * What Node and Bun hand the shared command line (`src/cli/run.ts`) in the same way: both have
 * `process` for output, exit and signals, and `node:fs` for the config file. Each runtime's
 * `cli.ts` adds only its argv, environment, version and server.
 */
import { readFileSync } from 'node:fs';
import type { CliHost } from '../cli/run.ts';

/** How often the parent is looked at: well inside the 5 s a supervisor allows for shutdown. */
const PARENT_POLL_MS = 250;

export type ProcessCliHost = Pick<CliHost, 'readTextFile' | 'stdout' | 'stderr' | 'exit' | 'onSignal' | 'setUnrefTimeout'>;

// Orphaned by npm, the broker may outlive whoever read its output: a write to a closed pipe must
// not end the shutdown half-way (EPIPE would be an uncaught error).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

export const processCliHost: ProcessCliHost = {
  readTextFile: (path) => readFileSync(path, 'utf8'),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
  onSignal(handler) {
    process.on('SIGINT', () => handler('SIGINT'));
    process.on('SIGTERM', () => handler('SIGTERM'));
    if (startedByNpm()) watchParent(() => handler('parent process exited'));
  },
  setUnrefTimeout: (fn, ms) => void setTimeout(fn, ms).unref(),
};

/**
 * `npx broker-hono` and `npm start` (and yarn's and pnpm's, which set the same variable) run the
 * broker through `sh -c`. A supervisor that signals only the process it started (Docker, systemd
 * with KillMode=process, pm2, test harnesses) reaches npm; npm passes the signal to the shell, and
 * the shell dies of a SIGTERM without passing it on (a SIGINT it ignores while it waits for us).
 */
function startedByNpm(): boolean {
  return process.env.npm_lifecycle_event !== undefined;
}

/**
 * Calls `onGone` once, when this process has been orphaned (reparented to init or a subreaper),
 * or when its parent shell has been: npm itself was killed (SIGKILL after a SIGINT the shell
 * swallowed). The grandparent is read from Linux's /proc; elsewhere only the parent is watched.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  // Only a shell in between is watched through: npm's own parent (a supervisor, a login shell
  // under nohup) may go away while npm and the broker are meant to run on.
  const grandparent = isShell(parent) ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent && (grandparent === undefined || parentOf(parent) === grandparent)) return;
    clearInterval(timer);
    onGone();
  }, PARENT_POLL_MS);
  timer.unref();
}

/** The parent of process `pid`, from /proc (undefined without it, or once `pid` is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold anything: state, ppid.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Whether process `pid` is a POSIX shell (Linux /proc; false where it cannot be read). */
function isShell(pid: number): boolean {
  try {
    return /^(sh|dash|bash|ash|zsh|ksh|mksh|busybox)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
  } catch {
    return false;
  }
}
