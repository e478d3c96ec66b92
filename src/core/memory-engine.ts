/**
 * The default engine: the broker is this one process, so there is nothing to carry anywhere.
 * Publishes and bus messages have reached every receiver once the core has delivered them
 * locally, so those methods are empty (and cost the publish path one empty call).
 *
 * Push/pull delegates back to the core's local queue (`pushLocally`) rather than owning one.
 * Pullers are local receivers like subscribers and peers: the core keeps all of them, applies
 * the slow-consumer rule to them and detaches a receiver from everything in one place, and
 * counts them in `/stats`. The Redis engine needs exactly that queue too, as its fallback while
 * Redis is away; a queue owned by this engine would split a puller's registrations between two
 * owners and make the Redis engine reach into this one.
 *
 * History (`historySize` > 0) is this engine's: every publish is kept in memory-history.ts and
 * gets its ids there, and resuming subscribers are answered from it.
 */
import type { BrokerMessage } from '../message.ts';
import type { Engine, EngineEvents, HistoryStats, Publication, Recovery } from './engine.ts';
import type { PushResult } from './push-pull.ts';
import { MemoryHistory, type HistoryOptions } from './history/memory-history.ts';
import { cappedBudget } from './history/capped-budget.ts';

export class MemoryEngine implements Engine {
  readonly #events: EngineEvents;
  readonly #history: MemoryHistory | undefined;
  readonly stamp: ((topic: string, message: BrokerMessage) => Publication) | undefined;
  readonly recover: ((topic: string, since: string | undefined) => Recovery) | undefined;
  readonly historyStats: (() => HistoryStats) | undefined;

  /**
   * `history`: keep history with these limits, its bytes reserved from the broker's budget
   * (`events.budget`) within `maxBytes`; without it the engine keeps none.
   */
  constructor(events: EngineEvents, history?: HistoryOptions) {
    this.#events = events;
    const kept = (this.#history = history
      ? new MemoryHistory({ size: history.size, ttlMs: history.ttlMs, budget: cappedBudget(history.maxBytes, events.budget) })
      : undefined);
    // Present only with history, as the contract says (the core asks whether they are there).
    this.stamp = kept && ((topic, message) => kept.append(topic, events.ancestorsOf(topic), message));
    this.recover = kept && ((topic, since) => kept.recover(topic, since));
    this.historyStats = kept && (() => kept.stats());
  }

  topicActive(): void {}
  topicIdle(): void {}
  prepare(): undefined {
    return undefined;
  }
  publish(): void {}
  sendBus(): void {}
  pullerAdded(): void {}
  pullerRemoved(): void {}

  push(topic: string, message: BrokerMessage): PushResult {
    return this.#events.pushLocally(topic, message);
  }

  problem(): undefined {
    return undefined;
  }
  connected(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    this.#history?.close();
    return Promise.resolve();
  }
}
