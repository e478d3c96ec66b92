/**
 * Reads the broker's JSON frames (`?format=json`): a message envelope, a gap notice, or a
 * subscription's start position (`{"type":"position","topic":…,"id":…}`, first on a connection
 * opened without `since`: where to resume if it is cut before its first message).
 */
import type { Gap, Message } from './types.ts';

export type Frame = { kind: 'message'; message: Message } | { kind: 'gap'; gap: Gap } | { kind: 'position'; id: string };

/** The frame in `text`, or undefined for anything else (never throws). */
export function readFrame(text: string): Frame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const frame = value as Record<string, unknown>;
  if (frame.type === 'gap') {
    if (typeof frame.topic !== 'string' || typeof frame.since !== 'string' || typeof frame.reason !== 'string') return undefined;
    const gap: Gap = {
      topic: frame.topic,
      since: frame.since,
      reason: frame.reason,
      ...(typeof frame.missed === 'number' && { missed: frame.missed }),
      ...(typeof frame.until === 'string' && { until: frame.until }),
    };
    return { kind: 'gap', gap };
  }
  if (frame.type === 'position') return typeof frame.id === 'string' ? { kind: 'position', id: frame.id } : undefined;
  if (typeof frame.id !== 'string' || typeof frame.topic !== 'string') return undefined;
  const binary = typeof frame.base64 === 'string';
  const data = binary ? fromBase64(frame.base64 as string) : frame.data;
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) return undefined;
  const time = typeof frame.time === 'number' ? frame.time : 0;
  return { kind: 'message', message: { data, meta: { id: frame.id, topic: frame.topic, time, binary } } };
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
