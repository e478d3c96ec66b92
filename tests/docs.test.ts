/**
 * The README as a reader meets it: every relative link names a file of the repository (and of the
 * npm package, which ships the README), and no internal issue number is left in the prose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/server.ts';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };

/** `[text](target)` links that point at a file, not at a web page or an anchor of the README. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:|^#/.test(target));
}

test('every relative link of the README names a file that is in the repository and in the package', () => {
  const links = relativeLinks(README);
  assert.ok(links.includes('PROTOCOL.md'), 'the README links the protocol');
  for (const link of links) {
    const path = link.split('#')[0]!;
    assert.ok(existsSync(join(ROOT, path)), `README links ${link}, which is not in the repository`);
    assert.ok(PACKAGE.files.some((entry) => path === entry || path.startsWith(entry.replace(/\/?$/, '/'))), `README links ${link}, which the package leaves out`);
  }
});

test('the README names no internal issue', () => {
  const mentions = README.split('\n').filter((line) => /\bissues? #?\d+/i.test(line));
  assert.deepEqual(mentions, []);
});
