/**
 * Topic paths parsed once and remembered. Every handshake and POST validates its topic
 * (decoding, the rules of PROTOCOL.md); when clients connect in a burst they mostly name the
 * same few topics (everyone reconnecting after a restart), and parsing was one of the larger
 * costs of accepting a connection. Results are immutable, so they are shared. Bounded: past
 * `MAX_ENTRIES` the cache starts again, so a client inventing topics costs only lookups.
 */
import { parseTopicPath, type TopicLimits, type TopicResult } from '../topic.ts';

const MAX_ENTRIES = 1024;

/** One cache per set of limits (a broker's options): the same path may be valid under one and not another. */
const caches = new WeakMap<TopicLimits, Map<string, TopicResult>>();

export function parseTopicPathCached(encodedPath: string, limits: TopicLimits): TopicResult {
  let cache = caches.get(limits);
  if (!cache) caches.set(limits, (cache = new Map()));
  let result = cache.get(encodedPath);
  if (result === undefined) {
    result = parseTopicPath(encodedPath, limits);
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(encodedPath, result);
  }
  return result;
}
