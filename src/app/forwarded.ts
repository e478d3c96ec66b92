/**
 * Who sent a request and over which scheme, as log lines and the origin check see it. Behind a
 * reverse proxy (`proxy` on) the proxy's `X-Forwarded-For` and `X-Forwarded-Proto` say so; the
 * last entry of each is the one this proxy added (earlier ones are the client's to invent).
 * Without `proxy` those headers are ignored: any client could send them.
 */
import type { Context } from 'hono';
import type { BrokerContext } from './context.ts';

/** The client's address, when known: the proxy's word with `proxy` on, else the runtime's peer. */
export function clientAddress(ctx: BrokerContext, c: Context): string | undefined {
  if (ctx.options.proxy) {
    const forwarded = lastEntry(c.req.header('x-forwarded-for'));
    if (forwarded) return forwarded;
  }
  return ctx.peerAddress?.(c);
}

/** ` (from ADDRESS)` for a log line, or nothing when the address is unknown. */
export function fromClient(ctx: BrokerContext, c: Context): string {
  const address = clientAddress(ctx, c);
  return address ? ` (from ${address})` : '';
}

/** The scheme the client used: `https` over TLS, here or (with `proxy` on) at the proxy. */
export function requestScheme(ctx: BrokerContext, c: Context): 'http' | 'https' {
  if (ctx.options.proxy) {
    const forwarded = lastEntry(c.req.header('x-forwarded-proto'))?.toLowerCase();
    if (forwarded === 'https' || forwarded === 'wss') return 'https';
    if (forwarded === 'http' || forwarded === 'ws') return 'http';
  }
  return c.req.url.startsWith('https:') ? 'https' : 'http';
}

function lastEntry(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const entries = header.split(',');
  return entries[entries.length - 1]!.trim() || undefined;
}
