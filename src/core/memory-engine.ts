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
 */
import type { BrokerMessage } from '../message.ts';
import type { Engine, EngineEvents } from './engine.ts';
import type { PushResult } from './push-pull.ts';

export class MemoryEngine implements Engine {
  readonly #events: EngineEvents;

  constructor(events: EngineEvents) {
    this.#events = events;
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
    return Promise.resolve();
  }
}
