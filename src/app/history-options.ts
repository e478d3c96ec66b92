/**
 * The history options (`historySize`, `historyTtl`, `historyMaxBytes`) as each engine takes them.
 * History reserves its bytes from a budget of its own, capped at `historyMaxBytes`, which also
 * reserves from the broker's global `ByteBudget` when one is given (`parent`), so that history,
 * queued pushes and request bodies share one cap.
 */
import type { BrokerOptions } from '../options.ts';
import type { ByteBudget } from '../core/byte-budget.ts';
import type { EngineFactory } from '../core/engine.ts';
import { MemoryEngine } from '../core/memory-engine.ts';
import { cappedBudget } from '../core/history/capped-budget.ts';

type HistoryOptions = Pick<BrokerOptions, 'historySize' | 'historyTtl' | 'historyMaxBytes'>;

/** The single-process engine, keeping history when `historySize` is above 0. */
export function memoryEngine(options: HistoryOptions, parent?: ByteBudget): EngineFactory {
  if (options.historySize === 0) return (events) => new MemoryEngine(events);
  const limits = { size: options.historySize, ttlMs: options.historyTtl * 1000, budget: cappedBudget(options.historyMaxBytes, parent) };
  return (events) => new MemoryEngine(events, limits);
}
