/**
 * An engine for core tests: every `Engine` call does nothing (a single process with no history),
 * except what the test gives in `parts` (history's `stamp` and `recover`, say).
 */
import type { Engine } from '../../src/core/engine.ts';

export function stubEngine(parts: Partial<Engine> = {}): Engine {
  return {
    topicActive() {},
    topicIdle() {},
    prepare: () => undefined,
    publish() {},
    sendBus() {},
    pullerAdded() {},
    pullerRemoved() {},
    push: () => 'queued',
    problem: () => undefined,
    connected: () => Promise.resolve(true),
    close: () => Promise.resolve(),
    ...parts,
  };
}
