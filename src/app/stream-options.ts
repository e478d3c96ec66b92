/**
 * What a receiving request asks of its messages: `?format=json` (each message a JSON envelope
 * with its id, json-envelope.ts) and `?since=ID` (resume a subscription after that id; an SSE
 * client may send it as `Last-Event-ID` instead, as browsers do on reconnect). Refused with 400:
 * an unknown format, `since` anywhere but `/sub`, and `since` on a raw WebSocket subscriber,
 * which could not tell a gap notice from a message. An id the broker does not know is no refusal:
 * the subscriber hears of the gap (stamped.ts).
 */
import type { Context } from 'hono';
import { errorResponse, type BrokerContext } from './context.ts';
import type { RouteKind } from './guards.ts';

export interface StreamOptions {
  /** Messages as JSON envelopes with ids. */
  readonly json: boolean;
  /** Resume after this id (a subscriber only). */
  readonly since?: string;
}

/** Longest `since` taken (ids are far shorter; it is echoed back in a gap notice). */
const MAX_SINCE_LENGTH = 256;

export const RAW: StreamOptions = Object.freeze({ json: false });

/** The options of a `/kind/…` request, or its 400 (counted and logged as refused); `eventStream` for an SSE subscriber. */
export function streamOptions(ctx: BrokerContext, c: Context, kind: RouteKind, eventStream: boolean): StreamOptions | Response {
  const refuse = (error: string): Response => {
    ctx.core.counters.refused++;
    ctx.log(`refused ${c.req.method} ${kind}: 400 ${error}`);
    return errorResponse(400, error);
  };
  const format = c.req.query('format');
  if (format !== undefined && format !== 'json' && format !== 'raw') return refuse('format must be json or raw');
  const json = format === 'json';
  const since = c.req.query('since') || (eventStream ? c.req.header('last-event-id') : undefined) || undefined;
  if (since === undefined) return json ? { json } : RAW;
  if (kind !== 'sub') return refuse('since is only for /sub (nothing else keeps history)');
  if (!json && !eventStream) return refuse('since needs format=json: a raw subscriber could not tell a gap notice from a message');
  if (since.length > MAX_SINCE_LENGTH) return refuse(`since is longer than ${MAX_SINCE_LENGTH} characters`);
  return { json, since };
}
