/**
 * `GET /debug/heap`, an opt-in endpoint for leak tests: answers the figures the runtime's
 * `debugHeap` function gives (the Node adapter passes one with `BROKER_DEBUG_HEAP=1`). The route
 * exists only when that function is given, so a production broker never exposes it; it lives in
 * the app, so a mounted broker has it under its prefix too.
 */
import type { Hono } from 'hono';

export const DEBUG_HEAP_PATH = '/debug/heap';

/** Heap figures after a full garbage collection where the runtime allows one. */
export type HeapFigures = () => Record<string, number | boolean>;

export function addDebugHeapRoute(app: Hono, figures: HeapFigures | undefined): void {
  if (figures) app.get(DEBUG_HEAP_PATH, (c) => c.json(figures()));
}
