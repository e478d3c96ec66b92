/**
 * The JSON envelope of `?format=json` (README "Envelope"): one text frame per message,
 *
 * ```json
 * {"id":"k3x9a2-17","topic":"wong/amy","data":"hello","time":1718000000123}
 * {"id":"k3x9a2-18","topic":"wong/amy","base64":"AAEC/w==","time":1718000000130}
 * {"type":"gap","topic":"wong","since":"k3x9a2-2","reason":"trimmed","missed":12,"until":"k3x9a2-14"}
 * {"type":"position","topic":"wong","id":"k3x9a2-16"}
 * ```
 * The position frame is the first a subscriber without `since` gets (stamped.ts, StartPosition).
 *
 * A subscriber's ids are positions in its topic's stream (stamped.ts) and can be resumed from;
 * a bus peer's or a puller's are this process's own, unique and ordered but not for resuming.
 * Each text is made once per message and shared by every receiver (`prepared`).
 */
import type { BrokerMessage } from '../message.ts';
import type { StampedMessage, StartPosition, StreamGap } from '../stamped.ts';
import { formatStreamId } from '../stamped.ts';
import { newEpoch } from '../core/epochs.ts';
import { toBase64 } from './base64.ts';

/** `prepared` keys of the envelope's text. */
export const STAMPED_JSON: object = Object.freeze({ transport: 'json envelope' });
export const LOCAL_JSON: object = Object.freeze({ transport: 'json envelope, local id' });

/** The envelope of a subscriber's message. */
export function stampedJson(message: StampedMessage): string {
  return envelope(message.id, message.topic, message.message, message.time);
}

const LOCAL_EPOCH = newEpoch();
let localCount = 0;
let localTopic = '';

/**
 * The envelope of a bus or push message (`topic` is its topic), with an id of this process
 * given on first use and kept with the message's other prepared forms.
 */
export function localJson(message: BrokerMessage, topic: string): string {
  // The topic goes through a module variable so `prepared` gets a module function, not a closure
  // made per receiver; a message is sent on one topic only.
  localTopic = topic;
  return message.prepared(LOCAL_JSON, localEnvelope);
}

function localEnvelope(message: BrokerMessage): string {
  return envelope(formatStreamId(LOCAL_EPOCH, ++localCount), localTopic, message, Date.now());
}

export function positionJson(position: StartPosition): string {
  return `{"type":"position","topic":${JSON.stringify(position.topic)},"id":"${position.id}"}`;
}

export function gapJson(gap: StreamGap): string {
  const missed = gap.missed === undefined ? '' : `,"missed":${gap.missed}`;
  const until = gap.until === undefined ? '' : `,"until":"${gap.until}"`;
  return `{"type":"gap","topic":${JSON.stringify(gap.topic)},"since":${JSON.stringify(gap.since)},"reason":"${gap.reason}"${missed}${until}}`;
}

function envelope(id: string, topic: string, message: BrokerMessage, time: number): string {
  const body = message.binary ? `"base64":"${toBase64(message.bytes)}"` : `"data":${JSON.stringify(message.data)}`;
  // Ids are 0-9a-z and '-': nothing to escape.
  return `{"id":"${id}","topic":${JSON.stringify(topic)},${body},"time":${time}}`;
}
