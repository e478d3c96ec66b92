/**
 * What arrives on the subscriber connection, routed by the kind letter of its channel: publishes
 * and bus messages from other nodes go to local receivers, push messages routed to this node's
 * pullers go to push/pull.
 *
 * A node's own publishes come back from Redis too (it subscribes to the channels it publishes
 * on); the node id in the envelope recognises them, and they are dropped: local receivers had
 * them directly. A publish reaches a node once per ancestor channel the node holds, back to back
 * (`publishBatch` sends a message's copies in a row), so comparing with the last one keeps one.
 */
import type { EngineEvents } from '../../core/engine.ts';
import { decodeEnvelope, sentBy, type NodeId } from '../envelope.ts';
import { CHANNEL_KIND } from './keys.ts';

export interface InboundInit {
  node: NodeId;
  /** The channel name prefix (`bh:DB:`); the kind letter follows it. */
  prefix: string;
  events: Pick<EngineEvents, 'deliverPublish' | 'deliverBus'>;
  /** A message on this node's own channel: a push for one of its pullers. */
  routedPush(payload: Uint8Array): void;
}

export class Inbound {
  readonly #init: InboundInit;
  readonly #kindAt: number;
  /** The last remote publish delivered: its node id halves and sequence number. */
  #lastHigh = -1;
  #lastLow = -1;
  #lastSequence = -1;

  constructor(init: InboundInit) {
    this.#init = init;
    this.#kindAt = init.prefix.length;
  }

  /** Every message from the subscriber connection. */
  readonly receive = (payload: Uint8Array, channel: Uint8Array): void => {
    const kind = channel[this.#kindAt];
    if (kind === CHANNEL_KIND.node) {
      this.#init.routedPush(payload);
      return;
    }
    if (sentBy(payload, this.#init.node)) return;
    if (kind === CHANNEL_KIND.sub) {
      const envelope = decodeEnvelope(payload);
      if (!envelope) return;
      if (envelope.sequence === this.#lastSequence && envelope.nodeLow === this.#lastLow && envelope.nodeHigh === this.#lastHigh) return;
      this.#lastSequence = envelope.sequence;
      this.#lastHigh = envelope.nodeHigh;
      this.#lastLow = envelope.nodeLow;
      this.#init.events.deliverPublish(envelope.topic, envelope.message);
    } else if (kind === CHANNEL_KIND.bus) {
      const envelope = decodeEnvelope(payload);
      if (envelope) this.#init.events.deliverBus(envelope.topic, envelope.message);
    }
  };
}
