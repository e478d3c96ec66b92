/**
 * What arrives on the subscriber connection, routed by the kind letter of its channel: publishes
 * and bus messages from other nodes go to local receivers, push messages routed to this node's
 * pullers go to push/pull.
 *
 * A node's own publishes come back from Redis too (it subscribes to the channels it publishes
 * on); the node id in the envelope recognises them, and they are dropped: local receivers had
 * them directly. A publish reaches a node once per ancestor channel the node holds, back to back
 * (`publishBatch` sends a message's copies in a row), so comparing with the last one keeps one.
 *
 * With history on, publishes come relayed instead (`S…`, history-scripts.ts): each copy carries
 * its position in the stream of the channel's topic and goes to the subscribers of exactly that
 * topic, on every node including the one it was published on (it delivered nothing itself).
 */
import type { EngineEvents } from '../../core/engine.ts';
import { StampedMessage } from '../../stamped.ts';
import { decodeEnvelope, sentBy, type NodeId } from '../envelope.ts';
import { CHANNEL_KIND } from './keys.ts';

/** First byte of a relayed publish (`S<epoch> <offset> <time>\n<envelope>`). */
const RELAYED = 'S'.charCodeAt(0);
const NEWLINE = 10;
const decoder = new TextDecoder();

export interface InboundInit {
  node: NodeId;
  /** The channel name prefix (`bh:DB:`); the kind letter follows it. */
  prefix: string;
  events: Pick<EngineEvents, 'deliverPublish' | 'deliverBus' | 'deliverStamped'>;
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
  /** The last relayed publish: its node id halves and sequence number. */
  #relayedHigh = -1;
  #relayedLow = -1;
  #relayedSequence = -1;

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
    if (payload[0] === RELAYED) {
      if (kind === CHANNEL_KIND.sub) this.#relayed(payload, channel);
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

  /** A relayed publish on the channel of one topic: that topic's subscribers get it, stamped. */
  #relayed(payload: Uint8Array, channel: Uint8Array): void {
    const newline = payload.indexOf(NEWLINE);
    if (newline === -1) return;
    const [epoch, offset, time] = decoder.decode(payload.subarray(1, newline)).split(' ');
    const envelope = decodeEnvelope(payload.subarray(newline + 1));
    if (!envelope || !epoch || !offset || !time) return;
    // `sub:` follows the prefix.
    const stream = decoder.decode(channel.subarray(this.#kindAt + 4));
    const samePublish =
      envelope.sequence === this.#relayedSequence && envelope.nodeLow === this.#relayedLow && envelope.nodeHigh === this.#relayedHigh;
    this.#relayedSequence = envelope.sequence;
    this.#relayedLow = envelope.nodeLow;
    this.#relayedHigh = envelope.nodeHigh;
    const stamped = new StampedMessage(envelope.message, envelope.topic, epoch, Number(offset), Number(time));
    this.#init.events.deliverStamped(stream, stamped, samePublish);
  }
}
