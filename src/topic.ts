/**
 * Topics: parsing, validation and the ancestor walk. Pure: no I/O and no runtime APIs, so the
 * Node, Deno and Bun entrypoints and the browser-facing demo all share one definition.
 *
 * ```ts
 * const parsed = parseTopic('wong/amy');
 * if (parsed.ok) ancestors(parsed.topic); // ['wong/amy', 'wong']
 * ```
 */

/** Limits a topic is checked against; the broker passes its configured values. */
export interface TopicLimits {
  /** Most segments a topic may have (default 32). */
  maxTopicDepth: number;
  /** Most UTF-8 bytes a decoded topic may have (default 1024). */
  maxTopicLength: number;
}

export const DEFAULT_TOPIC_LIMITS: Readonly<TopicLimits> = Object.freeze({
  maxTopicDepth: 32,
  maxTopicLength: 1024,
});

/** A valid topic: its canonical (decoded) name and its segments. */
export interface Topic {
  readonly name: string;
  readonly segments: readonly string[];
}

/** Which rule a topic broke; stable strings, safe to match on. */
export type TopicRule =
  | 'encoding'
  | 'empty'
  | 'empty-segment'
  | 'dot-segment'
  | 'control-character'
  | 'too-deep'
  | 'too-long';

export type TopicResult =
  | { ok: true; topic: Topic }
  | { ok: false; rule: TopicRule; error: string };

const encoder = new TextEncoder();
// Control characters: C0 (U+0000–U+001F) and DEL (U+007F).
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

function fail(rule: TopicRule, error: string): TopicResult {
  return { ok: false, rule, error };
}

/**
 * Parses the still percent-encoded rest of a URL path (what follows `/sub/`) into a topic.
 * Percent-decoding happens before splitting, as PROTOCOL.md says, so `a%2Fb` is two segments.
 */
export function parseTopicPath(encodedPath: string, limits: TopicLimits = DEFAULT_TOPIC_LIMITS): TopicResult {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encodedPath);
  } catch {
    return fail('encoding', 'topic is not valid percent-encoded UTF-8');
  }
  return parseTopic(decoded, limits);
}

/** Validates an already decoded topic name against every rule of PROTOCOL.md. */
export function parseTopic(name: string, limits: TopicLimits = DEFAULT_TOPIC_LIMITS): TopicResult {
  if (name.length === 0) return fail('empty', 'topic is empty');
  if (hasLoneSurrogate(name)) return fail('encoding', 'topic is not valid UTF-8');
  if (CONTROL_CHARACTER.test(name)) {
    return fail('control-character', 'topic contains a control character (U+0000-U+001F or U+007F)');
  }
  // Cheap bound first: a UTF-16 unit is at least one UTF-8 byte, at most three.
  if (name.length > limits.maxTopicLength || (name.length * 3 > limits.maxTopicLength && encoder.encode(name).length > limits.maxTopicLength)) {
    return fail('too-long', `topic is longer than ${limits.maxTopicLength} bytes of UTF-8`);
  }
  const segments = name.split('/');
  if (segments.length > limits.maxTopicDepth) {
    return fail('too-deep', `topic has more than ${limits.maxTopicDepth} segments`);
  }
  for (const segment of segments) {
    if (segment === '') {
      return fail('empty-segment', 'topic has an empty segment (leading, trailing or double slash)');
    }
    if (segment === '.' || segment === '..') {
      return fail('dot-segment', 'topic has a "." or ".." segment');
    }
  }
  return { ok: true, topic: { name, segments } };
}

/**
 * The topic itself and each ancestor, most specific first: `a/b/c` → `a/b/c`, `a/b`, `a`.
 * Publishing walks this list, so its cost is the topic's depth, not the number of topics.
 */
export function ancestors(topic: Topic | string): string[] {
  const name = typeof topic === 'string' ? topic : topic.name;
  const result = [name];
  for (let slash = name.lastIndexOf('/'); slash > 0; slash = name.lastIndexOf('/', slash - 1)) {
    result.push(name.slice(0, slash));
  }
  return result;
}

function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return true;
  }
  return false;
}
