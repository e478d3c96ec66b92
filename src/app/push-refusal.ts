/**
 * What a client hears when its push is refused, naming the limit (or the cluster's trouble) that
 * refused it: the JSON error of a POST's `503` (with `Retry-After`), and the reason of the `1013`
 * that closes a WebSocket pusher (at most 123 bytes, as a close reason must be).
 */
import type { PushResult } from '../core/push-pull.ts';
import { PUSH_ANSWER_MS } from '../engine/redis/push-answers.ts';
import type { BrokerOptions } from '../options.ts';

export interface PushRefusal {
  /** The POST's `{"error": …}`. */
  readonly error: string;
  /** The WebSocket close reason. */
  readonly closeReason: string;
}

type Limits = Pick<BrokerOptions, 'pushQueueLimit' | 'pushQueueBytes' | 'maxHeldBytes'>;

/** undefined when the push was taken (`delivered`, `queued`). */
export function pushRefusal(result: PushResult, topic: string, limits: Limits, engineProblem: () => string | undefined): PushRefusal | undefined {
  const queue = `push queue for ${JSON.stringify(topic)} is full`;
  switch (result) {
    case 'delivered':
    case 'queued':
      return undefined;
    case 'full':
      return { error: `${queue} (pushQueueLimit ${limits.pushQueueLimit})`, closeReason: 'push queue full' };
    case 'full-bytes':
      return { error: `${queue} (pushQueueBytes ${limits.pushQueueBytes} bytes)`, closeReason: 'push queue full (pushQueueBytes)' };
    case 'over-budget':
      return {
        error: `the broker holds all the bytes it may for clients (maxHeldBytes ${limits.maxHeldBytes}); try again later`,
        closeReason: 'broker memory budget full (maxHeldBytes)',
      };
    case 'timeout':
      return {
        error: `cluster engine did not answer within ${PUSH_ANSWER_MS} ms: the push was not taken and will not be delivered`,
        closeReason: 'cluster engine timeout',
      };
    case 'unavailable':
      return { error: `cluster engine unavailable (${engineProblem() ?? 'connection lost'})`, closeReason: 'cluster engine unavailable' };
  }
}
