/**
 * The demo page with auth on, in a real browser (playwright-core driving Debian's chromium, as
 * demo-browser.test.ts does): opened as `/?access_token=TOKEN`, its token field holds the token
 * and every connection, POST and the `/stats` view use it; with the field emptied, a new
 * subscriber is refused and the card says why (401).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { nodeCli, type RunningServer } from './helpers/server.ts';
import { SECRET, hs256, now } from './helpers/tokens.ts';

const CHROMIUM = '/usr/bin/chromium';
const WAIT = 15000;

let broker: RunningServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let token: string;
const pageErrors: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  broker = await nodeCli(['--jwt-secret', SECRET]);
  token = await hs256({ exp: now() + 600, broker: { sub: ['wong'], pub: ['wong'], admin: true } });
  userDataDir = mkdtempSync(join(tmpdir(), 'broker-hono-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${broker.httpUrl}/?access_token=${token}`);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await broker?.stop('SIGKILL');
});

const card = (list: string, n: number) => `#${list} .conn:nth-child(${n})`;

async function waitForText(selector: string, text: string | RegExp): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ state: 'attached', timeout: WAIT });
}

test('the token from the page address fills the field; stats, sockets, SSE and POST use it', async () => {
  assert.equal(await page.inputValue('#broker-token'), token);
  await page.locator('#stats-state[data-state="live"]').waitFor({ state: 'attached' });
  await page.fill('#sub-topic', 'wong');
  await page.click('#sub-add');
  await page.locator(`${card('sub-list', 1)}[data-state="open"]`).waitFor({ state: 'attached' });
  // The card shows where it connected, never the token.
  assert.equal(await page.textContent(`${card('sub-list', 1)} .url`), `${broker.wsUrl}/sub/wong`);
  await page.fill('#sse-topic', 'wong');
  await page.click('#sse-add');
  await page.locator(`${card('sse-list', 1)}[data-state="open"]`).waitFor({ state: 'attached' });
  await page.fill('#pub-topic', 'wong/amy');
  await page.fill('#pub-message', 'with a token');
  await page.click('#pub-send');
  await waitForText('#pub-result', 'published to wong/amy (200)');
  await waitForText(`${card('sub-list', 1)} .log li`, '← with a token');
  await waitForText(`${card('sse-list', 1)} .log li`, '← with a token');
});

test('without a token a new subscriber is refused, and the card says 401', async () => {
  await page.fill('#broker-token', '');
  await page.click('#sub-add');
  await page.locator(`${card('sub-list', 2)}[data-state="error"]`).waitFor({ state: 'attached' });
  await waitForText(`${card('sub-list', 2)} .error`, '401: token required');
  // A topic the token does not grant: 403.
  await page.fill('#broker-token', token);
  await page.fill('#sub-topic', 'elsewhere');
  await page.click('#sub-add');
  await waitForText(`${card('sub-list', 3)} .error`, '403: token does not grant sub on "elsewhere"');
});

test('no uncaught error on the page', () => {
  assert.deepEqual(pageErrors, []);
});
