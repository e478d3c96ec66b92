/**
 * The demo page (src/app/demo-page.ts) in a real browser: playwright-core driving Debian's
 * chromium against the real CLI. Each pattern is tried the way a person would (click, type,
 * read), across panels, and screenshots are saved to test-output/ at desktop and phone width.
 *
 * chromium is required: `.ci/run` installs it; without it this file fails (it does not skip).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { AddressInfo } from 'node:net';
import { ROOT, listenOn, nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(ROOT, 'test-output');
const WAIT = 15000;

let served: RunningServer;
let other: RunningServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
const pageErrors: string[] = [];
/** Every 404 the browser got (a missing favicon would be one; the tests' bad topics are 400s). */
const failedResponses: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  served = await nodeCli();
  // A second broker in production mode (no demo page of its own) that only lets in the first
  // broker's page: the page must reach it across origins (CORS for POST, SSE and /stats).
  other = await nodeCli(['-m', 'production', '--allow-origin', served.httpUrl]);
  userDataDir = mkdtempSync(join(tmpdir(), 'broker-hono-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  context.on('response', (response) => {
    if (response.status() === 404) failedResponses.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`${served.httpUrl}/`);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await Promise.all([served?.stop('SIGKILL'), other?.stop('SIGKILL')]);
});

/** Waits for an element matching `selector` whose text contains `text`. */
async function waitForText(selector: string, text: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ state: 'attached', timeout: WAIT });
}

async function waitForState(selector: string, state: string): Promise<void> {
  await page.locator(`${selector}[data-state="${state}"]`).waitFor({ state: 'attached', timeout: WAIT });
}

async function texts(selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

test('the page loads with this broker as its target and a live /stats view', async () => {
  assert.equal(await page.title(), 'broker-hono demo');
  assert.equal(await page.inputValue('#broker-url'), served.httpUrl);
  await waitForState('#stats-state', 'live');
  assert.equal(await page.textContent('#stats-url'), `${served.httpUrl}/stats`);
  await waitForText('#stats-values [data-key="connections"] dd', '0');
});

test('pub/sub: subscribe in one panel, publish from another, child topics arrive', async () => {
  await page.fill('#sub-topic', 'wong');
  await page.click('#sub-add');
  await waitForState('#sub-list .conn:nth-child(1)', 'open');
  assert.equal(await page.textContent('#sub-list .conn:nth-child(1) .url'), `${served.wsUrl}/sub/wong`);

  // Published from the SSE panel's form, to a child topic.
  await page.fill('#sse-pub-topic', 'wong/amy/deep');
  await page.fill('#sse-pub-message', 'from the SSE panel');
  await page.click('#sse-pub-send');
  await waitForText('#sse-pub-result', 'published to wong/amy/deep (200)');
  await waitForText('#sub-list .conn:nth-child(1) .log li', '← from the SSE panel');

  // And from its own form, as binary.
  await page.fill('#pub-topic', 'wong');
  await page.fill('#pub-message', 'AB');
  await page.check('#pub-binary');
  await page.click('#pub-send');
  await waitForText('#sub-list .conn:nth-child(1) .log li', '← binary, 2 bytes: 41 42');
  await page.uncheck('#pub-binary');

  // A sibling topic does not arrive.
  await page.fill('#pub-topic', 'wongx');
  await page.fill('#pub-message', 'not for wong');
  await page.click('#pub-send');
  await waitForText('#pub-result', 'published to wongx');
  await page.fill('#pub-topic', 'wong/amy');
  await page.fill('#pub-message', 'hello from wong/amy');
  await page.click('#pub-send');
  await waitForText('#sub-list .conn:nth-child(1) .log li', 'hello from wong/amy');
  assert.deepEqual(await texts('#sub-list .conn:nth-child(1) .log li'), [
    '← from the SSE panel',
    '← binary, 2 bytes: 41 42',
    '← hello from wong/amy',
  ]);

  // The live stats follow.
  await waitForText('#stats-values [data-key="subscribers"] dd', '1');
});

test('bus: several peers hear each other, echo on and off', async () => {
  await page.fill('#bus-topic', 'chat');
  await page.click('#bus-add');
  await page.check('#bus-echo');
  await page.click('#bus-add');
  await page.uncheck('#bus-echo');
  await page.click('#bus-add');
  for (const n of [1, 2, 3]) await waitForState(`#bus-list .conn:nth-child(${n})`, 'open');
  assert.match((await page.textContent('#bus-list .conn:nth-child(2) .name')) ?? '', /peer 2 · chat · echo/);
  assert.equal(await page.textContent('#bus-list .conn:nth-child(2) .url'), `${served.wsUrl}/bus/chat?echo=1`);

  const peer = (n: number) => `#bus-list .conn:nth-child(${n})`;
  await page.fill(`${peer(1)} .send input`, 'one speaks');
  await page.click(`${peer(1)} .send button`);
  await waitForText(`${peer(2)} .log li`, '← one speaks');
  await waitForText(`${peer(3)} .log li`, '← one speaks');

  await page.fill(`${peer(2)} .send input`, 'two speaks');
  await page.click(`${peer(2)} .send button`);
  await waitForText(`${peer(1)} .log li`, '← two speaks');
  await waitForText(`${peer(3)} .log li`, '← two speaks');
  // Echo: peer 2 hears itself; peer 1 (no echo) never heard its own message.
  await waitForText(`${peer(2)} .log li`, '← two speaks');
  assert.deepEqual(await texts(`${peer(1)} .log li`), ['→ one speaks', '← two speaks']);
  assert.deepEqual(await texts(`${peer(2)} .log li`), ['← one speaks', '→ two speaks', '← two speaks']);
  await waitForText('#stats-values [data-key="peers"] dd', '3');
});

test('push/pull: several pullers, round robin visible', async () => {
  await page.fill('#pull-topic', 'jobs');
  for (let i = 0; i < 3; i++) {
    await page.click('#pull-add');
    await waitForState(`#pull-list .conn:nth-child(${i + 1})`, 'open');
  }
  await waitForStats(served, (s) => s.pullers === 3);
  await page.fill('#push-message', 'job');
  await page.fill('#push-count', '6');
  await page.click('#push-send');
  await waitForText('#push-result', 'pushed 6 to jobs');
  await page.locator('#push-deliveries li').nth(5).waitFor({ state: 'attached' });
  // Sockets are independent, so arrival order on the page may interleave: sort by job.
  const deliveries = (await texts('#push-deliveries li')).sort((a, b) => jobNumber(a) - jobNumber(b));
  assert.deepEqual(deliveries, [
    'job 1 → puller 1',
    'job 2 → puller 2',
    'job 3 → puller 3',
    'job 4 → puller 1',
    'job 5 → puller 2',
    'job 6 → puller 3',
  ]);
  assert.deepEqual(await texts('#pull-list .conn:nth-child(1) .log li'), ['← job 1', '← job 4']);

  // A puller leaves: the others share the work.
  await page.click('#pull-list .conn:nth-child(2) .close');
  await waitForState('#pull-list .conn:nth-child(2)', 'closed');
  await waitForStats(served, (s) => s.pullers === 2);
  await page.fill('#push-count', '2');
  await page.fill('#push-message', 'more');
  await page.click('#push-send');
  await waitForText('#push-result', 'pushed 2 to jobs');
  await page.locator('#push-deliveries li').nth(7).waitFor({ state: 'attached' });
  const more = (await texts('#push-deliveries li')).filter((t) => t.startsWith('more')).sort();
  assert.deepEqual(more, ['more 1 → puller 1', 'more 2 → puller 3']);
});

function jobNumber(text: string): number {
  return Number(/job (\d+)/.exec(text)?.[1]);
}

test('SSE: an EventSource gets text, multi-line text and binary', async () => {
  await page.fill('#sse-topic', 'wong');
  await page.click('#sse-add');
  await waitForState('#sse-list .conn:nth-child(1)', 'open');
  assert.equal(await page.textContent('#sse-list .conn:nth-child(1) .url'), `${served.httpUrl}/sub/wong`);
  await waitForStats(served, (s) => s.subscribers === 2);

  await page.fill('#pub-topic', 'wong/amy');
  await page.fill('#pub-message', 'to every wong subscriber');
  await page.click('#pub-send');
  await waitForText('#sse-list .conn:nth-child(1) .log li', '← to every wong subscriber');
  await waitForText('#sub-list .conn:nth-child(1) .log li', '← to every wong subscriber');

  await page.fill('#sse-pub-topic', 'wong/sse');
  await page.fill('#sse-pub-message', 'line one\nline two');
  await page.click('#sse-pub-send');
  await waitForText('#sse-list .conn:nth-child(1) .log li', 'line two');
  await page.fill('#sse-pub-message', 'hi');
  await page.check('#sse-pub-binary');
  await page.click('#sse-pub-send');
  await waitForText('#sse-list .conn:nth-child(1) .log li', 'binary, 2 bytes: 68 69 (base64 aGk=)');
  await page.uncheck('#sse-pub-binary');
  assert.deepEqual(await texts('#sse-list .conn:nth-child(1) .log li'), [
    '← to every wong subscriber',
    '← line one\nline two',
    '← binary, 2 bytes: 68 69 (base64 aGk=)',
  ]);
});

test("a bad topic shows the server's 400 message", async () => {
  const before = await page.locator('#sub-list .conn').count();
  await page.fill('#sub-topic', 'wong//amy');
  await page.click('#sub-add');
  const card = `#sub-list .conn:nth-child(${before + 1})`;
  await waitForState(card, 'error');
  await waitForText(`${card} .error`, '400: topic has an empty segment (leading, trailing or double slash)');

  await page.fill('#sse-topic', 'a/b/');
  await page.click('#sse-add');
  await waitForState('#sse-list .conn:nth-child(2)', 'error');
  await waitForText('#sse-list .conn:nth-child(2) .error', '400: topic has an empty segment');

  await page.fill('#pub-topic', 'bad\u0001topic');
  await page.click('#pub-send');
  await waitForText('#pub-result.bad', '400: topic contains a control character');
});

test('the page asks for no favicon it does not have: its icon is inline, and nothing it loads fails', async () => {
  assert.equal(await page.locator('link[rel~="icon"]').count(), 1);
  assert.match((await page.getAttribute('link[rel~="icon"]', 'href')) ?? '', /^data:/);
  // A browser asks for /favicon.ico by itself when a page declares no icon (a 404 in the log,
  // and at the host's root when the broker is mounted); with an inline icon it asks for nothing.
  assert.deepEqual(failedResponses, []);
});

test('a long topic does not widen the page on a phone', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const topic = `sensors/${'building7floor3room12'.repeat(6)}/temperature`;
  for (const [input, button, list] of [['#sub-topic', '#sub-add', '#sub-list'], ['#sse-topic', '#sse-add', '#sse-list'], ['#bus-topic', '#bus-add', '#bus-list'], ['#pull-topic', '#pull-add', '#pull-list']]) {
    const before = await page.locator(`${list} .conn`).count();
    await page.fill(input!, topic);
    await page.click(button!);
    await waitForState(`${list} .conn:nth-child(${before + 1})`, 'open');
  }
  await page.fill('#pub-topic', topic);
  await page.fill('#pub-message', 'to the long topic');
  await page.click('#pub-send');
  await waitForText('#pub-result', `published to ${topic}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `a long topic makes the page ${overflow}px wider than a phone screen`);
  // Leave the panels as the later tests expect them: the long topic's cards closed, topics reset.
  for (const list of ['#sub-list', '#sse-list', '#bus-list', '#pull-list']) await page.click(`${list} .conn:last-child .close`);
  await page.fill('#pub-topic', 'wong/amy');
  await page.fill('#pull-topic', 'jobs');
  await waitForStats(served, (s) => s.pullers === 2 && s.peers === 3);
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('screenshots at desktop and phone width; nothing overflows on a phone', async () => {
  mkdirSync(OUTPUT, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: join(OUTPUT, 'demo-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUTPUT, 'demo-phone.png') });
  await page.screenshot({ path: join(OUTPUT, 'demo-phone-full.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('the page talks to another broker given in the URL field (CORS, allowOrigin)', async () => {
  const servedBefore = await stats(served);
  await page.fill('#broker-url', `${other.httpUrl}/`);
  await page.click('#broker-use');
  assert.equal(await page.inputValue('#broker-url'), other.httpUrl);
  await waitForText('#stats-url', `${other.httpUrl}/stats`);
  await waitForState('#stats-state', 'live');

  const subscribers = await page.locator('#sub-list .conn').count();
  await page.fill('#sub-topic', 'remote');
  await page.click('#sub-add');
  const card = `#sub-list .conn:nth-child(${subscribers + 1})`;
  await waitForState(card, 'open');
  assert.equal(await page.textContent(`${card} .url`), `${other.wsUrl}/sub/remote`);

  const sources = await page.locator('#sse-list .conn').count();
  await page.fill('#sse-topic', 'remote');
  await page.click('#sse-add');
  await waitForState(`#sse-list .conn:nth-child(${sources + 1})`, 'open');
  await waitForStats(other, (s) => s.subscribers === 2 && s.connections === 2);

  await page.fill('#pub-topic', 'remote/x');
  await page.fill('#pub-message', 'across brokers');
  await page.click('#pub-send');
  await waitForText(`${card} .log li`, '← across brokers');
  await waitForText(`#sse-list .conn:nth-child(${sources + 1}) .log li`, '← across brokers');
  await waitForText('#stats-values [data-key="subscribers"] dd', '2');
  // The first broker saw none of it.
  assert.equal((await stats(served)).messagesIn, servedBefore.messagesIn);
});

test('a broker that cannot be reached: the stats strip says so and shows no stale counters', async () => {
  const unreachable = await listenOn();
  const port = (unreachable.address() as AddressInfo).port;
  unreachable.close();
  await page.fill('#broker-url', `http://127.0.0.1:${port}`);
  await page.click('#broker-use');
  await waitForState('#stats-state', 'error');
  assert.match((await page.textContent('#stats-state')) ?? '', /unreachable/);
  assert.equal(await page.locator('#stats-values [data-key]').count(), 0, 'counters of the previous broker are still shown');
  // And back: the counters return with the broker.
  await page.fill('#broker-url', served.httpUrl);
  await page.click('#broker-use');
  await waitForState('#stats-state', 'live');
  await waitForText('#stats-values [data-key="connections"] dd', /\d/);
});

test('no uncaught error on the page', () => {
  assert.deepEqual(pageErrors, []);
});
