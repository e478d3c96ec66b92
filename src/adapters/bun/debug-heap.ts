/**
 * The heap figures behind the app's opt-in `GET /debug/heap` (src/app/debug-heap.ts), on Bun:
 * `process.memoryUsage()` after `Bun.gc(true)` (a full, synchronous collection; Bun needs no flag
 * for it). Given to the broker only with `BROKER_DEBUG_HEAP=1` in the environment, so a
 * production broker never exposes them. Leak and load tests read them as they do Node's.
 */
import type { HeapFigures } from '../../app/debug-heap.ts';

export function debugHeapFromEnvironment(env: Record<string, string | undefined> = Bun.env): HeapFigures | undefined {
  return env.BROKER_DEBUG_HEAP === '1' ? bunHeapFigures : undefined;
}

function bunHeapFigures(): Record<string, number | boolean> {
  Bun.gc(true);
  return { gc: true, ...process.memoryUsage() };
}
