/**
 * The history options (`historySize`, `historyTtl`, `historyMaxBytes`) as the memory engine takes
 * them. Its history reserves its bytes from the broker's byte budget (`maxHeldBytes`, which queued
 * pushes and request bodies share), `historyMaxBytes` of it at most.
 */
import type { BrokerOptions } from '../options.ts';
import type { EngineFactory } from '../core/engine.ts';
import { MemoryEngine } from '../core/memory-engine.ts';

type HistoryOptions = Pick<BrokerOptions, 'historySize' | 'historyTtl' | 'historyMaxBytes'>;

/** The single-process engine, keeping history when `historySize` is above 0. */
export function memoryEngine(options: HistoryOptions): EngineFactory {
  if (options.historySize === 0) return (events) => new MemoryEngine(events);
  const history = { size: options.historySize, ttlMs: options.historyTtl * 1000, maxBytes: options.historyMaxBytes };
  return (events) => new MemoryEngine(events, history);
}
