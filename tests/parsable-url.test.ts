/**
 * `isParsableUrl` (src/app/parsable-url.ts) remembers the authorities of URLs that parsed: it
 * must answer exactly as `URL.canParse` for any URL, whatever was remembered before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParsableHost, isParsableUrl } from '../src/app/parsable-url.ts';
import { parseTopicPathCached } from '../src/app/topic-path-cache.ts';
import { DEFAULT_TOPIC_LIMITS, parseTopicPath } from '../src/topic.ts';

const AUTHORITIES = [
  'http://127.0.0.1:4000', 'http://example.com', 'https://example.com:8443', 'http://[::1]:80', 'http://user:pw@example.com',
  'http://x:99999', 'http://a b', 'http://exa%2ecom', 'http://a?b', 'http://a#b', 'http://a\\b', 'http://', 'http://[::1',
  'http://a%00b', 'http://a\tb', 'https://ex ample.com', 'http://1.2.3.4.5', 'http://0x7f.1', 'http://a:', 'http://a:b',
];
const PATHS = ['/', '/sub/t', '/sub/a b', '/%zz/\\x', '/?q=1#f', '/a/../b', '/sub/\u00e9?x=\u0000', '//x', '/#', '/?'];

test('isParsableUrl answers as URL.canParse for every URL, before and after its authority is remembered', () => {
  // Twice over: the second pass answers from what the first remembered.
  for (let pass = 0; pass < 2; pass++) {
    for (const authority of AUTHORITIES) {
      for (const path of PATHS) {
        const url = authority + path;
        assert.equal(isParsableUrl(url), URL.canParse(url), `${JSON.stringify(url)} (pass ${pass + 1})`);
      }
    }
  }
});

test('an authority that parsed with one path does not vouch for a URL with something before its first slash', () => {
  assert.equal(isParsableUrl('http://example.com/ok'), true);
  for (const url of ['http://example.com:99999/ok', 'http://example.com?/x', 'http://example.com x/']) {
    assert.equal(isParsableUrl(url), URL.canParse(url), url);
  }
});

test('isParsableUrl agrees with URL.canParse on 20,000 random URLs made of the characters that matter', () => {
  // A fixed seed: the same URLs every run.
  let seed = 42;
  // mulberry32
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const CHARS = ['a', 'b', '1', '.', ':', '/', '?', '#', '\\', '@', '[', ']', '%', '2', 'e', ' ', '\t', '\u0000', '9', '-'];
  const text = (chars: string[], length: number) => Array.from({ length }, () => chars[random(chars.length)]).join('');
  // No non-ASCII host: Node 20's own URL.canParse answers `https://é-/` true for its first few
  // thousand calls and false once optimised (Deno, Bun and `new URL` take it every time).
  const PATH_CHARS = [...CHARS, 'é'];
  for (let i = 0; i < 20_000; i++) {
    const url = `${random(2) ? 'http' : 'https'}://${text(CHARS, random(6))}/${text(PATH_CHARS, random(6))}`;
    assert.equal(isParsableUrl(url), URL.canParse(url), JSON.stringify(url));
  }
});

test('isParsableHost takes a valid host[:port] and refuses the rest', () => {
  for (const host of ['127.0.0.1:4000', 'example.com', '[::1]:80', 'localhost']) assert.equal(isParsableHost(host), true, host);
  for (const host of ['x:99999', 'a b', '[::1', 'a:b']) assert.equal(isParsableHost(host), false, host);
});

test('isParsableUrl stays right after its cache filled and started again', () => {
  for (let i = 0; i < 600; i++) assert.equal(isParsableUrl(`http://host-${i}.example/`), true);
  assert.equal(isParsableUrl('http://x:99999/'), false);
  assert.equal(isParsableUrl('http://host-599.example/again'), true);
});

test('parseTopicPathCached gives what parseTopicPath gives, per set of limits', () => {
  const strict = { maxTopicDepth: 2, maxTopicLength: 8 };
  for (const path of ['a', 'a/b', 'a/b/c', 'a%2Fb%2Fc', 'abcdefghi', '%zz', 'a//b', 'a/./b', '']) {
    for (let pass = 0; pass < 2; pass++) {
      assert.deepEqual(parseTopicPathCached(path, DEFAULT_TOPIC_LIMITS), parseTopicPath(path, DEFAULT_TOPIC_LIMITS), `${path} default`);
      assert.deepEqual(parseTopicPathCached(path, strict), parseTopicPath(path, strict), `${path} strict`);
    }
  }
  // The same path, valid under one broker's limits and not another's.
  assert.equal(parseTopicPathCached('a/b/c', DEFAULT_TOPIC_LIMITS).ok, true);
  assert.equal(parseTopicPathCached('a/b/c', strict).ok, false);
});
