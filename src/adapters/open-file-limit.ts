/**
 * The process's open-file limit, for the start-up warning. Every connection holds one file
 * descriptor, so `-c/--clients` connections need that many and some to spare for the runtime
 * itself (listeners, its event loop, stdio, Redis).
 *
 * Neither Node, Deno nor Bun has an API for the limit (`getrlimit`), and running `ulimit -n`
 * through a shell at run time is not an option, so Node and Bun read it from `/proc/self/limits`
 * (Linux; elsewhere it is unknown and there is no warning). Deno allows that file only with every
 * permission, so it counts its free descriptors instead (deno/descriptors.ts).
 */
import { readFileSync } from 'node:fs';

/** Descriptors a broker keeps for itself beyond one per connection. */
export const SPARE_DESCRIPTORS = 64;

/** The soft limit on open files, or undefined when it cannot be read (not Linux, no permission). */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined) return undefined;
  return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft) || undefined;
}

/**
 * The one start-up line when the limit is below what `maxConnections` needs (one descriptor per
 * connection and `SPARE_DESCRIPTORS`), else undefined. Past the limit new connections are refused
 * (Deno: see deno/descriptors.ts), so this says which of the two to raise.
 */
export function openFileLimitWarning(maxConnections: number, limit: number | undefined): string | undefined {
  if (limit === undefined || limit >= maxConnections + SPARE_DESCRIPTORS) return undefined;
  return (
    `warning: the open-file limit is ${limit}, below the ${maxConnections + SPARE_DESCRIPTORS} that -c ${maxConnections} needs ` +
    `(one per connection and ${SPARE_DESCRIPTORS} to spare); connections past it are refused: raise it (ulimit -n) or lower -c`
  );
}

/**
 * Writes the warning above, as one `broker-hono: warning: …` line, when there is one. `limit` is
 * the runtime's reading of it: `openFileLimit()` on Node and Bun, the probe's on Deno (passed
 * even when undefined: Deno must not touch /proc, where it would ask for every permission).
 */
export function warnAboutOpenFileLimit(maxConnections: number, write: (text: string) => void, limit: number | undefined): void {
  const warning = openFileLimitWarning(maxConnections, limit);
  if (warning) write(`broker-hono: ${warning}\n`);
}
