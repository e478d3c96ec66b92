/**
 * What a token lets its holder do: the `broker` claim, one list of topics per action, and
 * `admin` for `/stats` and `/metrics`.
 *
 * ```json
 * {"broker": {"sub": ["news", "chat/room1"], "pub": ["chat/room1"], "push": ["jobs"], "pull": ["jobs"], "admin": true}}
 * ```
 *
 * A grant covers its topic and everything below it, as a subscription does (`chat` covers `chat`,
 * `chat/room1` and deeper, never `chatter`); `"*"` covers every topic. Grants are compared with the
 * decoded topic name the route has validated. Anything malformed grants nothing: a list that is
 * not an array, an entry that is not a string, `admin` that is not `true`.
 */

/** The actions a topic grant is for: the route kinds (`sub` covers WebSocket and SSE alike). */
export type Action = 'sub' | 'pub' | 'bus' | 'push' | 'pull';

export const ACTIONS: readonly Action[] = ['sub', 'pub', 'bus', 'push', 'pull'];

export interface Grants {
  readonly topics: Readonly<Record<Action, readonly string[]>>;
  readonly admin: boolean;
}

export const NO_GRANTS: Grants = Object.freeze({
  topics: Object.freeze({ sub: [], pub: [], bus: [], push: [], pull: [] }),
  admin: false,
});

/** The grants a verified token's payload carries (its `broker` claim). */
export function grantsFromPayload(payload: Readonly<Record<string, unknown>>): Grants {
  const claim = payload.broker;
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) return NO_GRANTS;
  const lists = claim as Record<string, unknown>;
  const topicsFor = (action: Action): string[] => {
    const list = lists[action];
    return Array.isArray(list) ? list.filter((entry): entry is string => typeof entry === 'string') : [];
  };
  return {
    topics: { sub: topicsFor('sub'), pub: topicsFor('pub'), bus: topicsFor('bus'), push: topicsFor('push'), pull: topicsFor('pull') },
    admin: lists.admin === true,
  };
}

/** Does any grant for `action` cover `topic` (a valid, decoded topic name)? */
export function allows(grants: Grants, action: Action, topic: string): boolean {
  return grants.topics[action].some((grant) => covers(grant, topic));
}

/** `grant` is `*`, the topic itself, or one of its ancestors (a whole-segment prefix). */
function covers(grant: string, topic: string): boolean {
  if (grant === '*' || grant === topic) return true;
  // `chat` covers `chat/room1` but not `chatter`: the prefix must end where a segment ends.
  return topic.length > grant.length && topic.charCodeAt(grant.length) === 0x2f && topic.startsWith(grant);
}
