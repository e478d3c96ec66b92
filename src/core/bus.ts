/**
 * The bus: peers on exactly the same topic (no hierarchy) hear each other. A peer that joined
 * with echo also hears itself.
 */
import type { BrokerMessage } from '../message.ts';
import type { Receiver } from '../receiver.ts';
import type { Delivery } from './delivery.ts';
import type { TopicEvents } from './topic-count.ts';

export class Bus {
  readonly #peers = new Map<string, Map<Receiver, boolean>>();

  constructor(
    private readonly delivery: Delivery,
    private readonly topics?: TopicEvents,
  ) {}

  join(topic: string, peer: Receiver, echo: boolean): void {
    let peers = this.#peers.get(topic);
    if (!peers) {
      this.#peers.set(topic, (peers = new Map()));
      this.topics?.created(topic);
    }
    peers.set(peer, echo);
  }

  leave(topic: string, peer: Receiver): boolean {
    const peers = this.#peers.get(topic);
    if (!peers?.delete(peer)) return false;
    if (peers.size === 0) {
      this.#peers.delete(topic);
      this.topics?.deleted(topic);
    }
    return true;
  }

  /** Sends to every peer of `topic` but `sender` (unless it asked for echo); returns the count. */
  send(topic: string, message: BrokerMessage, sender?: Receiver): number {
    const peers = this.#peers.get(topic);
    if (!peers) return 0;
    let delivered = 0;
    for (const [peer, echo] of peers) {
      if (peer === sender && !echo) continue;
      delivered += this.delivery.deliver(peer, message, topic);
    }
    return delivered;
  }

  has(topic: string): boolean {
    return this.#peers.has(topic);
  }
}
