/**
 * The client library in a real browser (playwright-core driving Debian's chromium, as
 * demo-browser.test.ts does): the package's own ESM (`dist/src/client/index.js`) imported by a
 * page with no bundler, the demo page's "ids and resume" subscriber, and the chat example
 * (examples/chat.html, opened as a file) resuming across a reload.
 *
 * chromium is required: `.ci/run` installs it; without it this file fails (it does not skip).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, nodeCli, stats, waitForStats, type RunningServer } from './helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const WAIT = 15000;

let broker: RunningServer;
let files: Server;
let filesUrl: string;
let context: BrowserContext;
let userDataDir: string;
const pageErrors: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  assert.ok(existsSync(join(ROOT, 'dist', 'src', 'client', 'index.js')), 'dist/ is built (npm run build)');
  broker = await nodeCli(['--history-size', '100']);
  // The package's files over HTTP, as a site would serve node_modules/broker-hono/dist.
  files = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url!, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(ROOT, path);
    if (!file.startsWith(join(ROOT, 'dist')) && path !== '/') return void response.writeHead(404).end();
    if (path === '/') return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>blank</title>');
    if (!existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
  userDataDir = mkdtempSync(join(tmpdir(), 'broker-hono-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run', '--allow-file-access-from-files'],
  });
  context.on('page', (page) => page.on('pageerror', (error) => pageErrors.push(error.message)));
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await new Promise((resolve) => files?.close(resolve));
  await broker?.stop('SIGKILL');
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}

async function post(path: string, body: string): Promise<void> {
  assert.equal((await fetch(`${broker.httpUrl}${path}`, { method: 'POST', body })).status, 200);
}

test("the package's own ESM runs in a browser as it is: subscribe, publish, ids and topics", async () => {
  const page = await newPage();
  await page.goto(`${filesUrl}/`);
  // A string, not a function: the test runner's transform would add helpers the page does not have.
  const got = await page.evaluate(`(async () => {
    const { createClient } = await import(${JSON.stringify(`${filesUrl}/dist/src/client/index.js`)});
    const client = createClient(${JSON.stringify(broker.httpUrl)});
    const received = [];
    await new Promise((resolve) => client.subscribe('browser', (data, meta) => {
      received.push(meta.topic + ' ' + data + ' ' + /^[0-9a-z]+-[0-9]+$/.test(meta.id));
      if (received.length === 2) resolve();
    }, { onStatus: (status) => status === 'open' && client.publish('browser/a', 'one').then(() => client.publish('browser', 'two')) }));
    client.close();
    return received;
  })()`);
  assert.deepEqual(got, ['browser/a one true', 'browser two true']);
  await page.close();
});

test('the demo page: a subscriber with "ids and resume" shows each message with its id and topic', async () => {
  const page = await newPage();
  await page.goto(`${broker.httpUrl}/`);
  await page.fill('#sub-topic', 'wong');
  await page.check('#sub-resume');
  await page.click('#sub-add');
  const card = '#sub-list .conn:nth-child(1)';
  await page.locator(`${card}[data-state="open"]`).waitFor({ state: 'attached' });
  assert.equal(await page.textContent(`${card} .url`), `${broker.wsUrl}/sub/wong?format=json (client library: reconnects, resumes)`);
  await post('/pub/wong/amy', 'hello from amy');
  await page.locator(`${card} .log li`).filter({ hasText: 'hello from amy' }).waitFor({ state: 'attached' });
  assert.match((await page.locator(`${card} .log li`).allTextContents())[0]!, /^← \[[0-9a-z]+-1 · wong\/amy\] hello from amy$/);
  await page.close();
});

test('the chat example: two people talk; one reloads meanwhile and gets what was said, once', async () => {
  const chat = (nick: string) => `${pathToFileURL(join(ROOT, 'examples', 'chat.html')).href}?broker=${encodeURIComponent(broker.httpUrl)}&room=test&nick=${nick}`;
  const amy = await newPage();
  const leo = await newPage();
  await amy.goto(chat('amy'));
  await leo.goto(chat('leo'));
  for (const page of [amy, leo]) await page.locator('#status[data-status="open"]').waitFor({ state: 'attached' });
  await amy.fill('#text', 'hi leo');
  await amy.click('#say button');
  for (const page of [amy, leo]) await page.locator('#log li').filter({ hasText: 'hi leo' }).waitFor({ state: 'attached' });
  assert.deepEqual(await leo.locator('#log li').allTextContents(), ['amyhi leo']);

  // Leo's page goes away for a moment; what amy says meanwhile is there when it is back.
  await leo.goto('about:blank');
  await post('/pub/chat/test/amy', 'said while you were away');
  await leo.goto(chat('leo'));
  await leo.locator('#log li').filter({ hasText: 'said while you were away' }).waitFor({ state: 'attached' });
  await leo.locator('#status[data-status="open"]').waitFor({ state: 'attached' });
  assert.deepEqual(await leo.locator('#log li').allTextContents(), ['amysaid while you were away'], 'resumed after the last line seen: nothing twice');
  assert.deepEqual(pageErrors, []);
});

test('the chat example: a page reloaded before any line arrived still gets what was said meanwhile', async () => {
  const chat = `${pathToFileURL(join(ROOT, 'examples', 'chat.html')).href}?broker=${encodeURIComponent(broker.httpUrl)}&room=quiet&nick=leo`;
  const leo = await newPage();
  const subscribersBefore = (await stats(broker)).subscribers;
  await leo.goto(chat);
  await leo.locator('#status[data-status="open"]').waitFor({ state: 'attached' });
  // The start position follows the open in the same turn of the broker; give it time to arrive.
  await waitForStats(broker, (s) => s.subscribers > subscribersBefore);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Nothing was said yet: the only resume point the page has is where its subscription started.
  await leo.goto('about:blank');
  await post('/pub/chat/quiet/amy', 'said before leo saw anything');
  await leo.goto(chat);
  await leo.locator('#log li').filter({ hasText: 'said before leo saw anything' }).waitFor({ state: 'attached', timeout: 10_000 });
  assert.deepEqual(await leo.locator('#log li').allTextContents(), ['amysaid before leo saw anything']);
  assert.deepEqual(pageErrors, []);
});
