/**
 * Where a request's token comes from: `Authorization: Bearer …` or the `access_token` query
 * parameter (RFC 6750 §2.1 and §2.3), the latter because browsers cannot set headers on a
 * WebSocket or an EventSource. The same token in both places is fine; two different ones are a
 * client's mistake, refused rather than guessed between.
 */
import type { Context } from 'hono';

export type RequestToken = { token: string } | { conflict: true } | undefined;

const BEARER = /^Bearer +([^\s]+) *$/i;

export function requestToken(c: Context): RequestToken {
  const authorization = c.req.header('authorization');
  // Another scheme (Basic for a proxy, say) is not ours: as if there were no header.
  const fromHeader = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
  const fromQuery = c.req.query('access_token') || undefined;
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) return { conflict: true };
  const token = fromHeader ?? fromQuery;
  return token === undefined ? undefined : { token };
}
