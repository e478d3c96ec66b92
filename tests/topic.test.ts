/**
 * src/topic.ts: every rule of the README's Protocol, "Topics", by example, then as properties
 * checked against an independent reference of the rules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_TOPIC_LIMITS, ancestors, parseTopic, parseTopicPath, type TopicLimits, type TopicResult, type TopicRule } from '../src/topic.ts';

function valid(result: TopicResult): { name: string; segments: readonly string[] } {
  assert.ok(result.ok, result.ok ? '' : `expected a valid topic, got ${result.rule}: ${result.error}`);
  return result.topic;
}

function broken(result: TopicResult, rule: TopicRule): void {
  assert.equal(result.ok, false, `expected rule ${rule} to be broken, got ${JSON.stringify(result)}`);
  if (!result.ok) {
    assert.equal(result.rule, rule);
    assert.equal(typeof result.error, 'string');
    assert.ok(result.error.length > 0);
  }
}

describe('topics: examples', () => {
  it('percent-decodes as UTF-8: caf%C3%A9 is café', () => {
    const encoded = valid(parseTopicPath('caf%C3%A9'));
    const plain = valid(parseTopicPath('café'));
    assert.equal(encoded.name, 'café');
    assert.equal(plain.name, 'café');
    assert.equal(valid(parseTopicPath('caf%c3%a9')).name, 'café');
    assert.equal(valid(parseTopicPath('%F0%9F%98%80/x')).name, '😀/x');
    assert.equal(valid(parseTopicPath('a%20b')).name, 'a b');
  });

  it('decodes before splitting: %2F separates segments', () => {
    assert.deepEqual(valid(parseTopicPath('a%2Fb')).segments, ['a', 'b']);
    assert.deepEqual(valid(parseTopicPath('a%2fb/c')).segments, ['a', 'b', 'c']);
    assert.equal(valid(parseTopicPath('a%2Fb')).name, valid(parseTopicPath('a/b')).name);
    broken(parseTopicPath('a%2F%2Fb'), 'empty-segment');
    broken(parseTopicPath('a%2F..%2Fb'), 'dot-segment');
  });

  it('decodes exactly once: %25 is a literal percent sign', () => {
    assert.equal(valid(parseTopicPath('100%25')).name, '100%');
    assert.equal(valid(parseTopicPath('a%252Fb')).name, 'a%2Fb');
    assert.deepEqual(valid(parseTopicPath('a%252Fb')).segments, ['a%2Fb']);
  });

  it('refuses bad percent-encoding and invalid UTF-8', () => {
    for (const path of ['%', 'a%', 'a%2', '%G1', '%ZZ', 'a%C3', 'a%C3%28', '%80', '%FF', '%C0%AF', '%E0%A4%A', '%ED%A0%80', '%ED%BF%BF/x']) {
      broken(parseTopicPath(path), 'encoding');
    }
  });

  it('refuses lone surrogates in an already decoded name', () => {
    for (const name of ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', 'a\uD83Dx', 'x\uDE00', 'a/\uD83D', '\uDE00\uD83D']) {
      broken(parseTopic(name), 'encoding');
    }
    assert.equal(valid(parseTopic('\uD83D\uDE00')).name, '😀');
  });

  it('refuses the empty topic', () => {
    broken(parseTopic(''), 'empty');
    broken(parseTopicPath(''), 'empty');
  });

  it('refuses empty segments: leading, trailing or double slash', () => {
    for (const name of ['/', '/a', 'a/', 'a//b', '//', 'a/b/', 'a///b']) broken(parseTopic(name), 'empty-segment');
  });

  it('refuses . and .. segments but not other dots', () => {
    for (const name of ['.', '..', 'a/.', 'a/..', './a', '../a', 'a/./b', 'a/../b']) broken(parseTopic(name), 'dot-segment');
    for (const name of ['...', '.a', 'a.', '..a', 'a..', 'a/.b/c.', '. ', '.. ']) valid(parseTopic(name));
  });

  it('refuses control characters U+0000-U+001F and U+007F, and nothing else', () => {
    for (const code of [0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x7f]) {
      broken(parseTopic(`a${String.fromCharCode(code)}b`), 'control-character');
    }
    broken(parseTopicPath('a%00b'), 'control-character');
    broken(parseTopicPath('a%7F'), 'control-character');
    broken(parseTopicPath('%0A'), 'control-character');
    // Space, U+0080 (a C1 control, not named by the README's Protocol), U+00A0 and U+FFFF are allowed.
    for (const code of [0x20, 0x7e, 0x80, 0x9f, 0xa0, 0x2028, 0xfeff, 0xffff]) valid(parseTopic(`a${String.fromCharCode(code)}b`));
  });

  it('allows up to maxTopicDepth segments (default 32)', () => {
    const segments = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`).join('/');
    assert.equal(valid(parseTopic(segments(32))).segments.length, 32);
    broken(parseTopic(segments(33)), 'too-deep');
    valid(parseTopic(segments(1)));
    const limits: TopicLimits = { maxTopicDepth: 3, maxTopicLength: 1024 };
    valid(parseTopic('a/b/c', limits));
    broken(parseTopic('a/b/c/d', limits), 'too-deep');
    broken(parseTopicPath('a%2Fb%2Fc%2Fd', limits), 'too-deep');
  });

  it('allows up to maxTopicLength bytes of UTF-8 (default 1024), counting bytes not characters', () => {
    valid(parseTopic('x'.repeat(1024)));
    broken(parseTopic('x'.repeat(1025)), 'too-long');
    // é is 2 bytes, € 3, 😀 4 (two UTF-16 units).
    valid(parseTopic('é'.repeat(512)));
    broken(parseTopic('é'.repeat(512) + 'x'), 'too-long');
    valid(parseTopic('€'.repeat(341) + 'x'));
    broken(parseTopic('€'.repeat(342)), 'too-long');
    valid(parseTopic('😀'.repeat(256)));
    broken(parseTopic('😀'.repeat(256) + 'x'), 'too-long');
    // The limit is on the decoded topic, not on its percent-encoded form.
    valid(parseTopicPath('%C3%A9'.repeat(512)));
    broken(parseTopicPath('%C3%A9'.repeat(512) + 'x'), 'too-long');
    const limits: TopicLimits = { maxTopicDepth: 32, maxTopicLength: 4 };
    valid(parseTopic('a/bc', limits));
    valid(parseTopic('😀', limits));
    broken(parseTopic('😀a', limits), 'too-long');
    broken(parseTopic('éée', limits), 'too-long');
  });

  it('the defaults are those of the README', () => {
    assert.deepEqual({ ...DEFAULT_TOPIC_LIMITS }, { maxTopicDepth: 32, maxTopicLength: 1024 });
  });

  it('ancestors: the topic itself, then each ancestor, most specific first', () => {
    assert.deepEqual(ancestors('a/b/c'), ['a/b/c', 'a/b', 'a']);
    assert.deepEqual(ancestors('wong'), ['wong']);
    assert.deepEqual(ancestors(valid(parseTopic('wong/amy')) as never), ['wong/amy', 'wong']);
    assert.deepEqual(ancestors('é/😀/x y'), ['é/😀/x y', 'é/😀', 'é']);
  });
});

// --- properties ---------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** the README's Protocol rules written out again, independently, as the oracle for the properties. */
function referenceValid(name: string, limits: TopicLimits = DEFAULT_TOPIC_LIMITS): boolean {
  if (name === '') return false;
  try {
    encodeURIComponent(name); // throws URIError on a lone surrogate
  } catch {
    return false;
  }
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (code <= 0x1f || code === 0x7f) return false;
  }
  if (encoder.encode(name).byteLength > limits.maxTopicLength) return false;
  const segments = name.split('/');
  if (segments.length > limits.maxTopicDepth) return false;
  return segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Any UTF-16 unit, lone surrogates included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
/** Characters that make topics interesting: slashes, dots, percent, controls, multibyte. */
const trickyUnit = fc.constantFrom('/', '.', '%', 'a', 'é', '😀', '\u0000', '\u001f', '\u007f', '\u0080', ' ', '\uD800', '\uDC00', '2F', 'C3', 'A9');
const anyString = fc.oneof(fc.string({ unit: anyUnit }), fc.string({ unit: 'binary' }), fc.string({ unit: trickyUnit, maxLength: 40 }));

/** A segment that obeys every rule: no slash, no control character, not '.' or '..', not empty. */
const validSegment = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', '.', '-', '%', ' ', '?', '#', '+'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 })
  .filter((segment) => !segment.includes('/') && segment !== '.' && segment !== '..' && referenceValid(segment));
const validSegments = fc.array(validSegment, { minLength: 1, maxLength: 32 }).filter((segments) => referenceValid(segments.join('/')));

const limitsArbitrary = fc.record({ maxTopicDepth: fc.integer({ min: 1, max: 40 }), maxTopicLength: fc.integer({ min: 1, max: 200 }) });

describe('topics: properties', () => {
  it('a valid topic round-trips through encodeURIComponent per segment', () => {
    fc.assert(
      fc.property(validSegments, (segments) => {
        const name = segments.join('/');
        const topic = valid(parseTopicPath(segments.map(encodeURIComponent).join('/')));
        assert.equal(topic.name, name);
        assert.deepEqual(topic.segments, segments);
        // Encoding the slashes too (%2F) names the same topic.
        assert.equal(valid(parseTopicPath(encodeURIComponent(name))).name, name);
        assert.equal(valid(parseTopic(name)).name, name);
      }),
      { numRuns: 500 },
    );
  });

  it('parseTopic agrees with the reference rules on any string and never throws', () => {
    fc.assert(
      fc.property(anyString, (name) => {
        const result = parseTopic(name);
        assert.equal(result.ok, referenceValid(name), JSON.stringify(name));
        if (result.ok) {
          assert.equal(result.topic.name, name);
          assert.deepEqual(result.topic.segments, name.split('/'));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTopic agrees with the reference rules under any limits', () => {
    fc.assert(
      fc.property(anyString, limitsArbitrary, (name, limits) => {
        assert.equal(parseTopic(name, limits).ok, referenceValid(name, limits), JSON.stringify({ name, limits }));
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTopicPath never throws and decodes exactly like decodeURIComponent', () => {
    fc.assert(
      fc.property(anyString, (path) => {
        const result = parseTopicPath(path);
        let decoded: string | undefined;
        try {
          decoded = decodeURIComponent(path);
        } catch {
          decoded = undefined;
        }
        if (decoded === undefined) {
          assert.equal(result.ok, false);
          if (!result.ok) assert.equal(result.rule, 'encoding');
        } else {
          assert.equal(result.ok, referenceValid(decoded));
          if (result.ok) assert.equal(result.topic.name, decoded);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ancestors(t) has depth(t) entries, each a prefix of t ending at a segment boundary', () => {
    fc.assert(
      fc.property(validSegments, (segments) => {
        const name = segments.join('/');
        const list = ancestors(valid(parseTopic(name)) as never);
        assert.equal(list.length, segments.length);
        assert.deepEqual(list, ancestors(name));
        list.forEach((ancestor, i) => {
          assert.equal(ancestor, segments.slice(0, segments.length - i).join('/'));
          assert.ok(name === ancestor || name.startsWith(`${ancestor}/`));
          // Every ancestor of a valid topic is itself valid.
          assert.ok(parseTopic(ancestor).ok);
        });
        assert.equal(new Set(list).size, list.length);
      }),
      { numRuns: 500 },
    );
  });
});
