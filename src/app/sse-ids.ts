/**
 * Ids and resume for Server-Sent Events. An SSE subscriber gets ids when it asks for the JSON
 * envelope (`?format=json`), resumes (`?since=ID` or `Last-Event-ID`), or when the broker keeps
 * history (`historySize` > 0): each event then carries its id in the `id:` field, so a browser's
 * `EventSource` sends it back as `Last-Event-ID` when it reconnects, and resumes by itself.
 *
 * ```
 * id: k3x9a2-17                                   id: k3x9a2-17
 * data: hello                                     data: {"id":"k3x9a2-17","topic":"wong/amy","data":"hello","time":…}
 *
 * event: gap
 * data: {"type":"gap","topic":"wong","since":"k3x9a2-2","reason":"trimmed","missed":12}
 *
 * id: k3x9a2-16
 * ```
 * The last block, first on a stream opened without an id to resume from, is its start position
 * (stamped.ts, StartPosition): an `id:` field and no `data:`, which per the HTML spec sets
 * `EventSource.lastEventId` and dispatches nothing, so a stream cut before its first message
 * reconnects with `Last-Event-ID` and resumes from there (no handler sees a non-message).
 * Without any of those the events are exactly as before (sse.ts), with no id.
 */
import type { Receiver } from '../receiver.ts';
import type { StampedMessage } from '../stamped.ts';
import { toBase64 } from './base64.ts';
import { gapJson, STAMPED_JSON, stampedJson } from './json-envelope.ts';

const encoder = new TextEncoder();

/** `prepared` keys: each stream position formatted once for every SSE subscriber of its topic. */
const SSE_WITH_ID = Object.freeze({ transport: 'sse event with id' });
const SSE_JSON = Object.freeze({ transport: 'sse json event' });

/** Whether an SSE subscriber gets ids (see above). */
export function sseWantsIds(json: boolean, since: string | undefined, historySize: number): boolean {
  return json || since !== undefined || historySize > 0;
}

/** Gives an SSE session's receiver what a subscriber with ids needs; `write` queues event bytes. */
export function withIds(receiver: Receiver, json: boolean, write: (bytes: Uint8Array) => void): void {
  receiver.deliverStamped = json
    ? (message) => write(message.prepared(SSE_JSON, jsonEvent))
    : (message) => write(message.prepared(SSE_WITH_ID, rawEventWithId));
  receiver.deliverGap = (gap) => write(encoder.encode(`event: gap\ndata: ${gapJson(gap)}\n\n`));
  receiver.deliverPosition = (position) => write(encoder.encode(`id: ${position.id}\n\n`));
}

function jsonEvent(message: StampedMessage): Uint8Array {
  // JSON text has no line breaks: one data line.
  return encoder.encode(`id: ${message.id}\ndata: ${message.prepared(STAMPED_JSON, stampedJson)}\n\n`);
}

/** The raw event of sse.ts (text as data lines, binary as `event: binary`), with its id. */
function rawEventWithId(stamped: StampedMessage): Uint8Array {
  const message = stamped.message;
  if (message.binary) return encoder.encode(`id: ${stamped.id}\nevent: binary\ndata: ${toBase64(message.bytes)}\n\n`);
  return encoder.encode(`id: ${stamped.id}\ndata: ${(message.data as string).replace(/\r\n|\r|\n/g, '\ndata: ')}\n\n`);
}
