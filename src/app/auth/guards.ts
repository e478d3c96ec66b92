/**
 * The token checks in the route's chain of checks before any upgrade or stream (guards.ts):
 * origin (401) → token (401) → topic (400) → grant (403) → 426 → connection limit (503). The
 * token is checked before the topic, so a client without a valid token learns nothing about the
 * topic rules. Once per connection or request, never per message.
 *
 * | answer | when |
 * |---|---|
 * | 401, `WWW-Authenticate: Bearer error="invalid_token"` | no token, or one that does not verify |
 * | 400, `WWW-Authenticate: Bearer error="invalid_request"` | two different tokens (header and query) |
 * | 403, `WWW-Authenticate: Bearer error="insufficient_scope"` | a valid token without the grant |
 */
import type { Context, MiddlewareHandler } from 'hono';
import { errorResponse, type BrokerContext } from '../context.ts';
import { fromClient } from '../forwarded.ts';
import { allows, type Action } from './grants.ts';
import { requestToken } from './request-token.ts';
import type { Access } from './verifier.ts';

/**
 * The token's access, a refusal, or undefined when auth is off. Async only when there is a token
 * to verify (Web Crypto).
 */
export async function checkToken(ctx: BrokerContext, c: Context): Promise<Access | Response | undefined> {
  if (!ctx.auth) return undefined;
  const found = requestToken(c);
  if (found === undefined) return refuse(ctx, c, 401, 'token required');
  if ('conflict' in found) return refuse(ctx, c, 400, 'two different tokens (Authorization header and access_token)');
  const result = await ctx.auth.verify(found.token);
  return 'refused' in result ? refuse(ctx, c, 401, result.refused) : result;
}

/** 403 unless the token's grants cover `action` on `topic`; nothing when auth is off. */
export function checkGrant(ctx: BrokerContext, c: Context, access: Access | undefined, action: Action, topic: string): Response | undefined {
  if (!access || allows(access.grants, action, topic)) return undefined;
  return refuse(ctx, c, 403, `token does not grant ${action} on ${JSON.stringify(topic)}`);
}

/** A route for token holders with `admin: true` (`/stats`, `/metrics`). */
export function adminOnly(ctx: BrokerContext): MiddlewareHandler {
  return async (c, next) => {
    const access = await checkToken(ctx, c);
    if (access instanceof Response) return access;
    if (access && !access.grants.admin) return refuse(ctx, c, 403, 'token does not grant admin');
    await next();
  };
}

/** A route for any valid token (the demo page). */
export function tokenRequired(ctx: BrokerContext): MiddlewareHandler {
  return async (c, next) => {
    const access = await checkToken(ctx, c);
    if (access instanceof Response) return access;
    await next();
  };
}

const CHALLENGE: Readonly<Record<number, string>> = {
  400: 'Bearer error="invalid_request"',
  401: 'Bearer error="invalid_token"',
  403: 'Bearer error="insufficient_scope"',
};

function refuse(ctx: BrokerContext, c: Context, status: 400 | 401 | 403, error: string): Response {
  ctx.core.counters.refused++;
  // The path only: the query may hold the token.
  ctx.log(`refused ${c.req.method} ${new URL(c.req.url).pathname}: ${status} ${error}${fromClient(ctx, c)}`);
  return errorResponse(status, error, { 'www-authenticate': CHALLENGE[status]! });
}
