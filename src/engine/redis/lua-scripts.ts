/**
 * The Redis engine's Lua scripts (`script-runner.ts` runs them): push/pull, the heartbeat and the
 * forward batch.
 *
 * The push/pull scripts make the cluster's push/pull atomic inside Redis. One list per push topic
 * holds its pullers (`NODE/N` ids) in the order they joined and a cursor points at the next one,
 * exactly the single-node round robin of PROTOCOL.md but shared by every node. A push picks
 * the puller at the cursor and PUBLISHes the message to that puller's node; with no puller
 * reachable it waits in the topic's queue list, bounded by `pushQueueLimit` (messages),
 * `pushQueueBytes` (a byte counter per queue) and `maxHeldBytes` (one counter for every queue of
 * the cluster, each message and queue counted with the estimate of `core/held-bytes.ts`).
 * Because each script runs alone in Redis, two nodes pushing at once can never hand one message
 * to two pullers, and the limit checks and the append are one step.
 *
 * Every push answer is definite (a push answered as refused is never delivered afterwards):
 * - a push carries a deadline on Redis's clock; a script that runs after it (Redis was frozen,
 *   the node has answered `timeout` by then) does nothing;
 * - in a script that may PUBLISH, a write comes before the first PUBLISH: a Redis that refuses
 *   writes (past `maxmemory`, MISCONF, a read-only replica) fails the script there, with nothing
 *   sent. (Redis checks a script's first write; once one has passed it lets the rest through.)
 *
 * A puller whose node does not answer (PUBLISH reached nobody) is skipped; if that node's
 * heartbeat key has expired too (the node died) its entry is removed, so a dead node leaves
 * nothing that holds messages back.
 */
import { QUEUE_OVERHEAD, QUEUED_MESSAGE_OVERHEAD } from '../../core/held-bytes.ts';
import type { RedisNames } from './keys.ts';
import { FORGET_ALL_HISTORY, FORGET_HISTORY, POSITION, PUBLISH_HISTORY, RECOVER } from './history-scripts.ts';

/** The push script's answer (an integer reply). */
export const PUSH_REPLY = { full: 0, delivered: 1, queued: 2, fullBytes: 3, overBudget: 4, late: 5 } as const;

/**
 * Shared Lua over KEYS[1..5] = pullers, cursor, queue, the queue's byte counter, the cluster's
 * held-bytes counter: `dispatch(payload)`, `drain(batch)`, `enqueue(payload, …)`. ARGV[1] is
 * always the name prefix (`bh:DB:`), for the node channels and alive keys that a script finds
 * from a puller id.
 */
const COMMON = `
local pullers, cursorKey, queue, queueBytes, heldKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix = ARGV[1]
local MESSAGE_OVERHEAD, QUEUE_OVERHEAD = ${QUEUED_MESSAGE_OVERHEAD}, ${QUEUE_OVERHEAD}

-- A queued envelope's message bytes: less the 17-byte header and the topic, whose length is in
-- the header's bytes 14..17 (big-endian).
local function messageBytes(envelope)
  local a, b, c, d = string.byte(envelope, 14, 17)
  return #envelope - 17 - (((a * 256 + b) * 256 + c) * 256 + d)
end

-- Counters never go below 0 (a queue written before they were kept holds uncounted messages).
local function decrease(key, amount)
  if redis.call('DECRBY', key, amount) < 0 then redis.call('SET', key, 0) end
end

local function dispatch(payload)
  local n = redis.call('LLEN', pullers)
  if n == 0 then return false end
  local start = tonumber(redis.call('GET', cursorKey) or '0')
  -- A write before any PUBLISH: a Redis that refuses writes fails the script here, nothing sent.
  redis.call('SET', cursorKey, start)
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
    local size = messageBytes(payload)
    decrease(queueBytes, size)
    decrease(heldKey, size + MESSAGE_OVERHEAD)
    moved = moved + 1
  end
  if moved > 0 and redis.call('LLEN', queue) == 0 then
    redis.call('DEL', queueBytes)
    decrease(heldKey, QUEUE_OVERHEAD)
  end
  return moved
end

-- Appends the payload; or, when a byte cap refuses it, returns that cap's reply code.
local function enqueue(payload, bytesLimit, heldLimit)
  local size = messageBytes(payload)
  if tonumber(redis.call('GET', queueBytes) or '0') + size > bytesLimit then return ${PUSH_REPLY.fullBytes} end
  local cost = size + MESSAGE_OVERHEAD
  if redis.call('LLEN', queue) == 0 then cost = cost + QUEUE_OVERHEAD end
  if tonumber(redis.call('GET', heldKey) or '0') + cost > heldLimit then return ${PUSH_REPLY.overBudget} end
  redis.call('RPUSH', queue, payload)
  redis.call('INCRBY', queueBytes, size)
  redis.call('INCRBY', heldKey, cost)
  return nil
end
`;

/**
 * ARGV: prefix, limit, payload, drain batch, byte limit, held limit, deadline (ms on Redis's
 * clock; 0: none). Replies with a `PUSH_REPLY` code. While older messages wait, a new one goes
 * behind them (never past them), so order holds.
 */
const PUSH = `${COMMON}
local limit, payload, batch = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local bytesLimit, heldLimit, deadline = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if deadline > 0 then
  local now = redis.call('TIME')
  if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > deadline then return ${PUSH_REPLY.late} end
end
local waiting = redis.call('LLEN', queue)
if waiting == 0 then
  if dispatch(payload) then return ${PUSH_REPLY.delivered} end
  if limit == 0 then return ${PUSH_REPLY.full} end
  return enqueue(payload, bytesLimit, heldLimit) or ${PUSH_REPLY.queued}
end
if waiting >= limit then
  drain(batch)
  if redis.call('LLEN', queue) >= limit then return ${PUSH_REPLY.full} end
end
local refused = enqueue(payload, bytesLimit, heldLimit)
if refused then
  -- Pullers may be reachable again: what they take makes room.
  if drain(batch) == 0 then return refused end
  refused = enqueue(payload, bytesLimit, heldLimit)
  if refused then return refused end
end
drain(batch)
if redis.call('LLEN', queue) == 0 then return ${PUSH_REPLY.delivered} end
return ${PUSH_REPLY.queued}
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

/**
 * KEYS[1] = alive key; ARGV: ttl ms. Returns {1 if the key was still there (nothing expired),
 * Redis's clock: seconds, microseconds}; push deadlines are set on Redis's clock.
 */
const HEARTBEAT = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
local now = redis.call('TIME')
return {existed, now[1], now[2]}
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
  position: POSITION,
  forgetHistory: FORGET_HISTORY,
  forgetAllHistory: FORGET_ALL_HISTORY,
} as const;
export type ScriptName = keyof typeof SCRIPTS;

/** The five keys every push-topic script takes, in order. */
export function pushTopicKeys(names: RedisNames, topic: string): [string, string, string, string, string] {
  return [names.pullers(topic), names.cursor(topic), names.queue(topic), names.queueBytes(topic), names.heldBytes];
}
