/**
 * Cluster history in Redis (`historySize` > 0): one stream per topic, `bh:DB:hist:TOPIC`, holding
 * what was published to the topic or a descendant, and beside it `bh:DB:hmeta:TOPIC`, a hash with
 * the stream's epoch (`e`) and its last offset (`o`). Stream entry ids are `OFFSET-0`, so the
 * public id `EPOCH-OFFSET` (stamped.ts) finds its place with one XRANGE; each entry holds the
 * publish time (`t`, Redis's clock, ms) and the node envelope (`m`).
 *
 * `publishHistory` gives a whole batch of a node's publishes their positions, appends them
 * (`XADD … MAXLEN ~ historySize`: whole macro nodes are trimmed, so a stream keeps at least
 * `historySize` messages, a few more at times) and PUBLISHes each to each of its topics' channels
 * with its position in that topic's stream in front: `S<epoch> <offset> <time>\n<envelope>`.
 * Scripts run alone in Redis, so on each channel the positions arrive in order, on every node.
 *
 * Both keys expire when a topic has been quiet for a while: the stream after `historyTtl`, the
 * hash an hour later, so a subscriber resuming a quiet topic still learns that it missed nothing
 * (or exactly what expired). A topic whose hash is gone starts a new epoch.
 */

/**
 * ARGV: prefix, historySize, stream ttl ms, hash ttl ms, epoch seed, then for each message, in
 * order: topic count C, C topics (the topic and its ancestors), envelope.
 */
export const PUBLISH_HISTORY = `
local prefix, size, ttl, metaTtl, seed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local fresh = 0
local i, n = 6, #ARGV
while i <= n do
  local count = tonumber(ARGV[i])
  local payload = ARGV[i + count + 1]
  for j = 1, count do
    local topic = ARGV[i + j]
    local meta, stream = prefix .. 'hmeta:' .. topic, prefix .. 'hist:' .. topic
    local epoch = redis.call('HGET', meta, 'e')
    if not epoch then
      fresh = fresh + 1
      epoch = seed .. fresh
      redis.call('HSET', meta, 'e', epoch, 'o', 0)
      redis.call('DEL', stream)
    end
    local offset = redis.call('HINCRBY', meta, 'o', 1)
    redis.call('XADD', stream, 'MAXLEN', '~', size, offset .. '-0', 't', now, 'm', payload)
    redis.call('PEXPIRE', stream, ttl)
    redis.call('PEXPIRE', meta, metaTtl)
    redis.call('PUBLISH', prefix .. 'sub:' .. topic, 'S' .. epoch .. ' ' .. offset .. ' ' .. now .. '\\n' .. payload)
  end
  i = i + count + 2
end
return 1
`;

/**
 * KEYS: hash, stream. ARGV: the resuming id's epoch and offset, historyTtl ms. Returns the
 * stream's epoch ('' when it has none) and last offset, then for each message after the offset
 * (after none when the epoch is not the id's) still held and not expired: its offset, time and
 * envelope.
 */
export const RECOVER = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then return {''} end
local last = tonumber(redis.call('HGET', KEYS[1], 'o'))
local since = tonumber(ARGV[2])
if epoch ~= ARGV[1] or since > last then since = 0 end
local clock = redis.call('TIME')
local cutoff = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) - tonumber(ARGV[3])
local out = {epoch, last}
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], (since + 1) .. '-0', '+')) do
  local fields = entry[2]
  -- Expired ones are the oldest: skipped only while nothing has been kept, so no hole opens.
  if #out > 2 or tonumber(fields[2]) > cutoff then
    out[#out + 1] = string.sub(entry[1], 1, -3)
    out[#out + 1] = fields[2]
    out[#out + 1] = fields[4]
  end
end
return out
`;

/**
 * KEYS: hash, stream. ARGV: an epoch seed, hash ttl ms. Returns the stream's epoch and last
 * offset: where a subscriber attached now starts (stamped.ts, StartPosition). A stream with no
 * epoch gets one here, at offset 0, as PUBLISH_HISTORY would give it (a bare seed: never one of
 * that script's, which are longer), so the position names an epoch that a resume recognises and
 * the next publish continues.
 */
export const POSITION = `
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {epoch, 0}
end
return {epoch, tonumber(redis.call('HGET', KEYS[1], 'o'))}
`;

/**
 * ARGV: prefix, then topics whose streams a node published to outside Redis (it could not relay,
 * see cluster-history.ts): each stream and its position are forgotten, so the next publish starts
 * a new epoch and a resume from an id of before hears of it (`epoch`) instead of reading on past
 * the messages Redis never held as if nothing was missed.
 */
export const FORGET_HISTORY = `
local prefix = ARGV[1]
for i = 2, #ARGV do
  redis.call('DEL', prefix .. 'hmeta:' .. ARGV[i], prefix .. 'hist:' .. ARGV[i])
end
return 1
`;

/**
 * ARGV: prefix. Every stream and position of this cluster forgotten (FORGET_HISTORY for more
 * topics than a node keeps a list of). A scan of the whole key space: Redis is busy for as long,
 * which only a node that published to over 100,000 topics while cut off from Redis asks for.
 */
export const FORGET_ALL_HISTORY = `
local prefix, cursor = ARGV[1], '0'
repeat
  local reply = redis.call('SCAN', cursor, 'MATCH', prefix .. 'hmeta:*', 'COUNT', 1000)
  cursor = reply[1]
  for _, key in ipairs(reply[2]) do
    redis.call('DEL', key, prefix .. 'hist:' .. string.sub(key, #prefix + 7))
  end
until cursor == '0'
return 1
`;
