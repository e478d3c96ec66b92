/**
 * A connection lives no longer than its token: at `exp` a socket is closed with 4001 `token
 * expired` and an SSE stream gets `event: error` and ends. One timer per connection with a token
 * that expires, armed when it opens and cleared when it closes; nothing per message.
 */

export const CLOSE_TOKEN_EXPIRED = 4001;
export const TOKEN_EXPIRED = 'token expired';

/** setTimeout's largest delay (about 24.8 days); a longer one fires at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Calls `expire` at `expiresAt` (ms since the epoch; at once if that has passed). Returns the
 * function that cancels it, or undefined when there is nothing to wait for.
 */
export function atExpiry(expiresAt: number | undefined, expire: () => void): (() => void) | undefined {
  if (expiresAt === undefined) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) {
      if (!cancelled) expire();
      return;
    }
    timer = setTimeout(arm, Math.min(left, MAX_DELAY_MS));
    // Node and Bun: a token's clock must not keep a stopping process alive (Deno's numeric ids
    // have no unref; its server keeps the process alive anyway).
    (timer as { unref?: () => void }).unref?.();
  };
  arm();
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}
