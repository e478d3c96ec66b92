/**
 * The origin allowlist matcher (src/origin.ts) against the README's Protocol rules, including the
 * hole the Perl broker left open: an unanchored `example.com` that let in `example.com.evil.net`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileOriginPatterns } from '../src/origin.ts';

function check(patterns: string[], allowed: string[], refused: Array<string | undefined | null>): void {
  const matches = compileOriginPatterns(patterns);
  for (const origin of allowed) assert.equal(matches(origin), true, `${JSON.stringify(patterns)} should let in ${origin}`);
  for (const origin of refused) assert.equal(matches(origin), false, `${JSON.stringify(patterns)} should refuse ${JSON.stringify(origin)}`);
}

describe('origin allowlist matcher', () => {
  test('unset: every origin, and none, is let in', () => {
    const matches = compileOriginPatterns(undefined);
    for (const origin of ['http://anything.example', 'null', '', undefined, null]) assert.equal(matches(origin), true);
  });

  test('a host pattern matches exactly that host, any scheme and port, ignoring case', () => {
    check(
      ['example.com'],
      ['http://example.com', 'https://example.com', 'https://example.com:8443', 'HTTP://EXAMPLE.COM', 'http://Example.Com'],
      [
        // A default port written out: no browser sends it (see "only the form browsers send").
        'http://Example.Com:80',
        'http://example.com.evil.net',
        'https://example.com.evil.net:443',
        'http://evilexample.com',
        'http://www.example.com',
        'http://example.co',
        'http://example.com.',
        'http://example.com@evil.net',
        'http://evil.net/example.com',
        'http://evil.net?example.com',
        'http://evil.net#example.com',
      ],
    );
  });

  test('a pattern is matched against the whole host, never as a substring or a regular expression', () => {
    check(['a.b'], ['http://a.b'], ['http://axb', 'http://a.b.c', 'http://xa.b']);
    check(['example.com'], [], ['http://exampleXcom']);
  });

  test('a wildcard pattern matches subdomains at any depth, not the bare domain nor look-alikes', () => {
    check(
      ['*.example.com'],
      ['http://a.example.com', 'https://a.b.example.com:9000', 'http://WWW.EXAMPLE.COM'],
      ['http://example.com', 'http://evilexample.com', 'http://a.example.com.evil.net', 'http://aexample.com', 'http://example.com.a'],
    );
  });

  test('a full origin matches scheme, host and port exactly (a default port may be left out)', () => {
    check(
      ['https://example.com:8443'],
      ['https://example.com:8443', 'HTTPS://EXAMPLE.COM:8443'],
      ['http://example.com:8443', 'https://example.com', 'https://example.com:443', 'https://a.example.com:8443', 'https://example.com:8444'],
    );
    check(['https://example.com'], ['https://example.com'], ['http://example.com', 'https://example.com:8443', 'https://example.com:443']);
    // A pattern may name the default port; it means the same origin.
    check(['https://example.com:443'], ['https://example.com'], ['https://example.com:443', 'https://example.com:8443']);
    check(['http://localhost:3000'], ['http://localhost:3000'], ['http://localhost:3001', 'http://localhost']);
  });

  test('several patterns: any one may match', () => {
    check(['example.com', '*.trusted.org', 'https://exact.net:8443'], ['http://example.com', 'http://x.trusted.org', 'https://exact.net:8443'], ['http://trusted.org', 'http://exact.net:8443', 'http://other.net']);
  });

  test('a missing, null or malformed Origin matches nothing when patterns are set', () => {
    check(['example.com'], [], [undefined, null, '', 'null', 'example.com', '//example.com', 'http://', 'not a url', 'http://exa mple.com']);
  });

  test('only the form browsers send (RFC 6454): no user, path, percent-encoding, leading zeros or default port', () => {
    // Each of these parses (leniently) to an allowed origin, but no browser sends it.
    check(
      ['example.com', 'https://exact.net:8443'],
      ['https://example.com', 'https://exact.net:8443'],
      [
        'https://user@example.com',
        'https://user:pw@example.com',
        'https://example.com/',
        'https://example.com/path',
        'https://example.com?q',
        'https://example.com#f',
        'http://example%2ecom',
        'http://%65xample.com',
        'https://exact.net:08443',
        'https://exact.net:8443/',
        'https://example.com:443',
        ' https://example.com',
        'https://example.com.',
        'https://0x7f.0.0.1',
      ],
    );
    check(['127.0.0.1'], ['http://127.0.0.1:3000'], ['http://0x7f.0.0.1:3000', 'http://2130706433:3000', 'http://127.1:3000']);
  });

  test('IPv6 and IDN hosts are compared in the form browsers send', () => {
    check(['[::1]'], ['http://[::1]:3000'], ['http://[::2]']);
    check(['bücher.de'], ['https://xn--bcher-kva.de'], ['https://bucher.de']);
  });

  test('malformed patterns are refused with a message naming them', () => {
    for (const bad of ['https://*.example.com', 'example.com:8080', 'example.com/path', 'user@example.com', '*', '*.', 'ex ample.com', 'http://']) {
      assert.throws(() => compileOriginPatterns([bad]), (error: Error) => error instanceof TypeError && error.message.includes(JSON.stringify(bad)), bad);
    }
  });
});
