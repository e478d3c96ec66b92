/**
 * The heap figures behind the app's opt-in `GET /debug/heap` (src/app/debug-heap.ts), on Node:
 * `process.memoryUsage()` after a full garbage collection (start Node with `--expose-gc`, or the
 * figures include garbage). Given to the broker only with `BROKER_DEBUG_HEAP=1` in the
 * environment, so a production broker never exposes them.
 */
import type { HeapFigures } from '../../app/debug-heap.ts';

export function debugHeapFromEnvironment(env: Record<string, string | undefined> = process.env): HeapFigures | undefined {
  return env.BROKER_DEBUG_HEAP === '1' ? nodeHeapFigures : undefined;
}

function nodeHeapFigures(): Record<string, number | boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    // Twice: the first pass can leave objects that only become unreachable after finalizers ran.
    gc();
    gc();
  }
  return { gc: Boolean(gc), ...process.memoryUsage() };
}
