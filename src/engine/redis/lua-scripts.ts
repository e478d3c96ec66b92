/**
 * The Redis engine's Lua scripts (`script-runner.ts` runs them): push/pull, the heartbeat and the
 * forward batch.
 *
 * The push/pull scripts make the cluster's push/pull atomic inside Redis. One list per push topic
 * holds its pullers (`NODE/N` ids) in the order they joined and a cursor points at the next one,
 * exactly the single-node round robin of PROTOCOL.md but shared by every node. A push picks
 * the puller at the cursor and PUBLISHes the message to that puller's node; with no puller
 * reachable it waits in the topic's queue list, bounded by `pushQueueLimit`. Because each
 * script runs alone in Redis, two nodes pushing at once can never hand one message to two
 * pullers, and the limit check and the append are one step.
 *
 * A puller whose node does not answer (PUBLISH reached nobody) is skipped; if that node's
 * heartbeat key has expired too (the node died) its entry is removed, so a dead node leaves
 * nothing that holds messages back.
 */
import type { RedisNames } from './keys.ts';
import { PUBLISH_HISTORY, RECOVER } from './history-scripts.ts';

/**
 * Shared Lua: `dispatch(payload)` and `drain(batch)` over KEYS[1..3] = pullers, cursor, queue.
 * ARGV[1] is always the name prefix (`bh:DB:`), for the node channels and alive keys that a
 * script finds from a puller id.
 */
const COMMON = `
local pullers, cursorKey, queue = KEYS[1], KEYS[2], KEYS[3]
local prefix = ARGV[1]

local function dispatch(payload)
  local n = redis.call('LLEN', pullers)
  if n == 0 then return false end
  local start = tonumber(redis.call('GET', cursorKey) or '0')
  local cursor = start
  local tries = n
  while tries > 0 and n > 0 do
    if cursor >= n then cursor = 0 end
    local id = redis.call('LINDEX', pullers, cursor)
    local node = string.sub(id, 1, (string.find(id, '/', 1, true) or 1) - 1)
    if redis.call('PUBLISH', prefix .. 'node:' .. node, id .. '\\n' .. payload) > 0 then
      redis.call('SET', cursorKey, (cursor + 1) % n)
      return true
    end
    if redis.call('EXISTS', prefix .. 'alive:' .. node) == 0 then
      redis.call('LREM', pullers, 1, id)
      n = n - 1
    else
      cursor = cursor + 1
    end
    tries = tries - 1
  end
  if n == 0 then
    redis.call('DEL', cursorKey)
  elseif start >= n then
    redis.call('SET', cursorKey, 0)
  end
  return false
end

local function drain(batch)
  local moved = 0
  while moved < batch do
    local payload = redis.call('LINDEX', queue, 0)
    if not payload then break end
    if not dispatch(payload) then break end
    redis.call('LPOP', queue)
    moved = moved + 1
  end
  return moved
end
`;

/**
 * ARGV: prefix, limit, payload, drain batch. Returns 1 delivered, 2 queued, 0 full. While older
 * messages wait, a new one goes behind them (never past them), so order holds.
 */
const PUSH = `${COMMON}
local limit, payload, batch = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local waiting = redis.call('LLEN', queue)
if waiting == 0 then
  if dispatch(payload) then return 1 end
  if limit == 0 then return 0 end
  redis.call('RPUSH', queue, payload)
  return 2
end
if waiting >= limit then
  drain(batch)
  if redis.call('LLEN', queue) >= limit then return 0 end
end
redis.call('RPUSH', queue, payload)
drain(batch)
if redis.call('LLEN', queue) == 0 then return 1 end
return 2
`;

/** ARGV: prefix, batch. Hands waiting messages to pullers; returns {moved, still waiting}. */
const DRAIN = `${COMMON}
local moved = drain(tonumber(ARGV[2]))
return {moved, redis.call('LLEN', queue)}
`;

/**
 * ARGV: prefix, batch, puller ids… Adds each id not already listed (a re-join after a Redis
 * restart keeps the others' order), then drains. Returns {moved, still waiting}.
 */
const JOIN = `${COMMON}
for i = 3, #ARGV do
  if not redis.call('LPOS', pullers, ARGV[i]) then redis.call('RPUSH', pullers, ARGV[i]) end
end
local moved = drain(tonumber(ARGV[2]))
return {moved, redis.call('LLEN', queue)}
`;

/** ARGV: puller id. The list closes up; a cursor past the end wraps to 0 (PROTOCOL.md). */
const LEAVE = `
local pullers, cursorKey = KEYS[1], KEYS[2]
redis.call('LREM', pullers, 1, ARGV[1])
local n = redis.call('LLEN', pullers)
if n == 0 then
  redis.call('DEL', cursorKey)
elseif tonumber(redis.call('GET', cursorKey) or '0') >= n then
  redis.call('SET', cursorKey, 0)
end
return n
`;

/** KEYS[1] = alive key; ARGV: ttl ms. Returns 1 if the key was still there (nothing expired). */
const HEARTBEAT = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return existed
`;

/**
 * ARGV: for each message, in order: channel count C, C channels, payload. Publishes a whole
 * batch of a node's forwards (one event-loop turn's worth) in one command, each message to each
 * of its channels; a message's copies go out back to back, so a node subscribed to two of its
 * ancestor channels sees them in a row and keeps the first.
 */
const PUBLISH_BATCH = `
local i, n = 1, #ARGV
while i <= n do
  local count = tonumber(ARGV[i])
  local payload = ARGV[i + count + 1]
  for j = 1, count do redis.call('PUBLISH', ARGV[i + j], payload) end
  i = i + count + 2
end
return 1
`;

export const SCRIPTS = {
  push: PUSH,
  drain: DRAIN,
  join: JOIN,
  leave: LEAVE,
  heartbeat: HEARTBEAT,
  publishBatch: PUBLISH_BATCH,
  publishHistory: PUBLISH_HISTORY,
  recover: RECOVER,
} as const;
export type ScriptName = keyof typeof SCRIPTS;

/** The three keys every push-topic script takes, in order. */
export function pushTopicKeys(names: RedisNames, topic: string): [string, string, string] {
  return [names.pullers(topic), names.cursor(topic), names.queue(topic)];
}
