// The page in a real browser (Debian's Chromium through playwright-core) against the real API and
// PostgreSQL: what a visitor sees, that the strict CSP breaks nothing, and that posting works.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { type RealApi, startRealApi } from './support/real-api.js';
import { type RunningWeb, startWeb } from './support/web.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The text of the one element a locator matches (the DOM's text, so markup would show up as elements). */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.textContent())?.trim() ?? '';
}

/** Where the screenshot of the home page goes, for a human look. */
const SCREENSHOT = process.env.WEB_SCREENSHOT ?? '/tmp/web.png';

describe('the home page in Chromium', () => {
  let api: RealApi;
  let web: RunningWeb;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const requested: string[] = [];

  before(async () => {
    api = await startRealApi();
    web = await startWeb({ API_HOST: api.url });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(err.message));
    page.on('request', (req) => requested.push(new URL(req.url()).pathname));
  });
  after(async () => {
    await browser?.close();
    await web?.close();
    await api?.stop();
  });

  test('shows the title, the time from the API and the request uuid', async () => {
    const res = await page.goto(`${web.url}/`);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), '3tier App');
    const welcome = await textOf(page.locator('h1'));
    assert.match(welcome, /^Welcome, it's \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.match(await textOf(page.locator('.request-uuid')), /^[0-9a-f-]{36}$/);
  });

  test('the logo image loads and the stylesheet applies, from fingerprinted URLs only', async () => {
    const logo = page.locator('img.brand-logo');
    await logo.evaluate((img: HTMLImageElement) => img.decode());
    assert.ok((await logo.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0);
    const styles = await page.evaluate(() => {
      const header = document.querySelector('.site-header');
      return {
        bodyBackground: getComputedStyle(document.body).backgroundColor,
        headerBorder: header ? getComputedStyle(header).borderBottomWidth : '',
      };
    });
    assert.equal(styles.bodyBackground, 'rgb(244, 246, 251)');
    assert.equal(styles.headerBorder, '4px');
    const assets = requested.filter((p) => p.startsWith('/stylesheets/') || p.startsWith('/images/'));
    assert.ok(assets.length > 0);
    for (const path of assets) assert.match(path, /\.[0-9a-f]{12}\.(css|svg)$/, `${path} is fingerprinted`);
  });

  test('a message posted through the form appears on the page', async () => {
    const text = `Hello from Chromium ${randomUUID().slice(0, 8)}`;
    await page.fill('#author', 'Ada Lovelace');
    await page.fill('#text', text);
    await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
    const first = page.locator('.message').first();
    assert.equal(await textOf(first.locator('.message-text')), text);
    assert.equal(await textOf(first.locator('.message-author')), 'Ada Lovelace');
  });

  test('a message with <script> in it is shown as text and never runs', async () => {
    const text = `<script>window.__xss = 1; alert('xss')</script> is just text`;
    let dialogs = 0;
    page.on('dialog', async (dialog) => {
      dialogs++;
      await dialog.dismiss();
    });
    await page.fill('#author', '<b>Mallory</b>');
    await page.fill('#text', text);
    await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
    const first = page.locator('.message').first();
    assert.equal(await textOf(first.locator('.message-text')), text);
    assert.equal(await textOf(first.locator('.message-author')), '<b>Mallory</b>');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.locator('.message b').count(), 0);
    assert.equal(dialogs, 0);
  });

  test('a refused message comes back with the error and the input kept', async () => {
    await page.fill('#author', 'Blank Writer');
    await page.fill('#text', '   ');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('button[type=submit]'),
    ]);
    assert.equal(response.status(), 400);
    await page.waitForSelector('.form-error');
    assert.match(await textOf(page.locator('.form-error')), /Please write a message/);
    assert.equal(await page.inputValue('#author'), 'Blank Writer');
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-refused.png'), fullPage: true });
  });

  test('the page renders without console errors (nothing blocked by the CSP) and looks right', async () => {
    await page.goto(`${web.url}/`);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    // The refused post above is logged by Chromium as a 400; anything else (a CSP refusal) is a bug.
    assert.deepEqual(
      consoleErrors.filter((e) => !e.includes('status of 400')),
      [],
    );
  });
});
