/**
 * The heap figures behind the app's opt-in `GET /debug/heap` (src/app/debug-heap.ts), on Deno:
 * `Deno.memoryUsage()` after a full garbage collection (run Deno with `--v8-flags=--expose-gc`,
 * or the figures include garbage). Given to the broker only when `BROKER_DEBUG_HEAP=1` is in an
 * environment Deno lets it read (`--allow-env=BROKER_DEBUG_HEAP`; the permission is queried,
 * never prompted for), so a production broker never exposes them.
 *
 * Leak and load tests read these on Deno as on Node and Bun: Deno's resident memory keeps what
 * its allocator once reserved (it grew 200 MiB a round under hostile load while the heap came
 * back), so it cannot tell a leak from a high-water mark.
 */
import type { HeapFigures } from '../../app/debug-heap.ts';

const VARIABLE = 'BROKER_DEBUG_HEAP';

export function debugHeapFromEnvironment(): HeapFigures | undefined {
  if (Deno.permissions.querySync({ name: 'env', variable: VARIABLE }).state !== 'granted') return undefined;
  return Deno.env.get(VARIABLE) === '1' ? denoHeapFigures : undefined;
}

function denoHeapFigures(): Record<string, number | boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    // Twice, as on Node: the first pass can leave objects that only become unreachable after finalizers ran.
    gc();
    gc();
  }
  const { rss, heapTotal, heapUsed, external } = Deno.memoryUsage();
  // Node's `arrayBuffers` is part of `external`; Deno reports only the whole.
  return { gc: Boolean(gc), rss, heapTotal, heapUsed, external, arrayBuffers: external };
}
