/**
 * A program run in a terminal, as a person runs it: `script` (util-linux) gives it a pty, so
 * Deno shows its permission prompts. Each prompt is answered "y" (allow once) and recorded,
 * until the program prints `Listening at`; then the program is stopped.
 */
import { spawn } from 'node:child_process';
import { ROOT } from './server.ts';
import { isRunning, processTree } from './process-tree.ts';

export interface TerminalRun {
  /** The line of each permission prompt (what was asked), in order. */
  prompts: string[];
  output: string;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function promptsUntilListening(commandLine: string, timeoutMs = 60_000): Promise<TerminalRun> {
  const child = spawn('script', ['-qfec', commandLine, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let answered = 0;
  return new Promise((resolve, reject) => {
    const stop = () => {
      for (const pid of processTree(child.pid!).reverse()) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no "Listening at" within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString().replace(ANSI, '');
      const prompts = [...output.matchAll(/Deno requests ([^\n]*)/g)].map((m) => m[1]!.trim());
      if (/Listening at/.test(output)) {
        clearTimeout(timer);
        stop();
        resolve({ prompts, output });
      } else if (prompts.length > answered && /Allow\?.*> $/.test(output)) {
        answered = prompts.length;
        // Deno discards what was typed before its prompt was up: answer a moment later.
        setTimeout(() => child.stdin.write('y\r'), 300);
      }
    });
  });
}
